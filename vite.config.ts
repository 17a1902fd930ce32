import { defineConfig } from 'vite';

// The web app lives in web/ and is served by `tureen start` from dist/web. `vite` (dev server)
// forwards the API and signaling to a `tureen start` running on its default port.
const backend = process.env.TUREEN_BACKEND ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: 'web',
  build: { outDir: '../dist/web', emptyOutDir: true, target: 'es2022' },
  server: {
    proxy: {
      '/api': backend,
      '/ws': { target: backend.replace(/^http/, 'ws'), ws: true },
    },
  },
});
