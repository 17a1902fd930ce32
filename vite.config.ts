import { defineConfig } from 'vite';

// The web app lives in web/ and is served by `tureen start` from dist/web.
export default defineConfig({
  root: 'web',
  build: { outDir: '../dist/web', emptyOutDir: true, target: 'es2022' },
});
