import { Link } from '@tanstack/react-router';

export function NotFound() {
  return (
    <main className="mx-auto max-w-xl p-8">
      <h1 className="text-xl font-semibold">Nothing here</h1>
      <p className="mt-2">This address names no screen of the console.</p>
      <Link to="/changes" className="mt-4 inline-block text-blue-800 underline">
        Go to the change list
      </Link>
    </main>
  );
}
