import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Served by the engine at `/` from builder-ui/dist; in development the Vite server proxies the API to a local engine.
export default defineConfig(({ command }) => {
  // A build started from a test run inherits NODE_ENV=test, which would ship React's development build and
  // the dev JSX transform (60 % bigger, several times slower): the served bundle is always the production one.
  if (command === 'build') process.env.NODE_ENV = 'production';
  return {
    base: '/',
    plugins: [react()],
    server: {
      proxy: { '/v1': 'http://127.0.0.1:3000' },
    },
    build: {
      outDir: 'dist',
      emptyOutDir: true,
      chunkSizeWarningLimit: 1500,
      rollupOptions: {
        output: {
          // The canvas library in its own vendor chunk: it changes less often than the app, so it stays cached.
          manualChunks: {
            xyflow: ['@xyflow/react'],
          },
        },
      },
    },
  };
});
