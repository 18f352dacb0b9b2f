import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { ApiError } from './api/client.ts';
import { fetchCatalog, fetchFlow } from './api/hooks.ts';
import { App } from './App.tsx';
import '@xyflow/react/dist/style.css';
import './styles.css';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // 4xx answers are final; only retry what might be transient.
      retry: (count, err) => !(err instanceof ApiError && err.status < 500) && count < 2,
      refetchOnWindowFocus: false,
    },
  },
});

// Opening a flow by URL: fetch it and the catalog while the session check is still in flight, not after it.
const opening = /^\/flows\/([^/]+)$/.exec(window.location.pathname);
if (opening) {
  void queryClient.prefetchQuery({ queryKey: ['/v1/flows', opening[1]], queryFn: ({ signal }) => fetchFlow(opening[1]!, signal) });
  void queryClient.prefetchQuery({ queryKey: ['/v1/catalog'], queryFn: ({ signal }) => fetchCatalog(signal), staleTime: 5 * 60_000 });
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <App />
    </QueryClientProvider>
  </StrictMode>,
);
