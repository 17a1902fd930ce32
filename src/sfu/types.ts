// biome-ignore lint/suspicious/noExplicitAny: application data is whatever the application stores.
export type AppData = { [key: string]: any };
