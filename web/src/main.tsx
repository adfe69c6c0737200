import { QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider } from '@tanstack/react-router';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { onUnauthenticated } from './api/client';
import { createConsoleRouter } from './router';
import './styles.css';

const queryClient = new QueryClient({
  queryCache: new QueryCache(),
  defaultOptions: { queries: { retry: (count, error) => count < 2 && !('problem' in (error as object)) } },
});
const router = createConsoleRouter(queryClient);

// A session that ended or expired: sign in again, then come back to where the person was.
onUnauthenticated(() => {
  const here = router.state.location;
  // Nobody was signed in yet: the route's own check sends the person to sign in, without "your session ended".
  if (here.pathname === '/sign-in' || !queryClient.getQueryData(['instance'])) return;
  queryClient.removeQueries({ queryKey: ['instance'] });
  void router.navigate({ to: '/sign-in', search: { redirect: here.href, expired: true } });
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  </StrictMode>,
);
