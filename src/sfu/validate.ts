/** appData must be a plain object when given (mediasoup throws TypeError otherwise). */
export function checkAppData(appData: unknown): void {
  if (appData === undefined) return;
  if (typeof appData !== 'object' || appData === null || Array.isArray(appData)) {
    throw new TypeError('if given, appData must be an object');
  }
}

export function checkStringArray(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new TypeError(`${what} must be an array of strings`);
  }
  return value;
}
