import { useMutation, useQuery, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { getRouteApi, useRouter } from '@tanstack/react-router';
import { useState, type FormEvent } from 'react';
import { FieldError, Form, Input, Label, TextField } from 'react-aria-components';
import { identityQuery, signIn, ssoQuery } from '../../api/queries';
import { Button } from '../../ui/button';
import { fieldProblem, ProblemNotice } from '../../ui/problem-notice';

const route = getRouteApi('/sign-in');

const ssoProblems: Record<string, string> = {
  SIGN_IN_REFUSED: 'Single sign-on did not sign you in: the identity provider refused, or your account may not use this instance.',
  SSO_PROVIDER_FAILED: 'The identity provider could not be reached. Try again, or sign in with your password.',
};

export function SignInPage() {
  const { redirect, expired, problem } = route.useSearch();
  const { data: identity } = useSuspenseQuery(identityQuery);
  const sso = useQuery(ssoQuery);
  const router = useRouter();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const attempt = useMutation({
    mutationFn: () => signIn(email, password),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ['instance'] });
      router.history.push(redirect ?? '/');
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    attempt.mutate();
  };
  const returnTo = encodeURIComponent(redirect ?? '/');

  return (
    <main className="mx-auto mt-16 max-w-sm rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
      <h1 className="text-xl font-semibold">Sign in to {identity.name}</h1>
      <p className="mt-1 text-sm text-slate-600">The Shiplog console of this {identity.kind} instance.</p>
      {expired && (
        <p role="status" className="mt-4 rounded bg-blue-50 p-2 text-sm text-blue-900">
          Your session ended. Sign in again to go back to where you were.
        </p>
      )}
      {problem && (
        <p role="alert" className="mt-4 rounded bg-red-50 p-2 text-sm text-red-900">
          {ssoProblems[problem] ?? `Single sign-on did not sign you in (${problem}).`}
        </p>
      )}
      <Form onSubmit={submit} className="mt-4 space-y-4" validationErrors={{ email: fieldProblem(attempt.error, 'email') ?? [], password: fieldProblem(attempt.error, 'password') ?? [] }}>
        <TextField name="email" type="email" isRequired value={email} onChange={setEmail} autoComplete="username" className="flex flex-col gap-1">
          <Label className="text-sm font-medium">Email</Label>
          <Input className="rounded border border-slate-400 px-2 py-1.5 data-[invalid]:border-red-700" />
          <FieldError className="text-sm text-red-800" />
        </TextField>
        <TextField name="password" type="password" isRequired value={password} onChange={setPassword} autoComplete="current-password" className="flex flex-col gap-1">
          <Label className="text-sm font-medium">Password</Label>
          <Input className="rounded border border-slate-400 px-2 py-1.5 data-[invalid]:border-red-700" />
          <FieldError className="text-sm text-red-800" />
        </TextField>
        <ProblemNotice error={attempt.error} />
        <Button type="submit" look="primary" isDisabled={attempt.isPending} className="w-full justify-center">
          {attempt.isPending ? 'Signing in…' : 'Sign in'}
        </Button>
      </Form>
      {sso.data && sso.data.length > 0 && (
        <div className="mt-6 border-t border-slate-200 pt-4">
          <h2 className="text-sm font-medium">Or sign in with</h2>
          <ul className="mt-2 space-y-2">
            {sso.data.map((connection) => (
              <li key={connection.id}>
                <a href={`${connection.startUrl}?returnTo=${returnTo}`} className="block rounded border border-slate-300 px-3 py-1.5 text-center text-sm font-medium hover:bg-slate-50">
                  {connection.name}
                </a>
              </li>
            ))}
          </ul>
        </div>
      )}
    </main>
  );
}
