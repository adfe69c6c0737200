import { useInfiniteQuery, useMutation, useQuery, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { getRouteApi, Link, useNavigate } from '@tanstack/react-router';
import { useCallback, useState } from 'react';
import { instanceQuery } from '../../api/queries';
import { Button } from '../../ui/button';
import { ProblemNotice } from '../../ui/problem-notice';
import { createCustomer, createUser, customerQuery, customersQuery, updateCustomer, updateUser, usersQuery, type DeskUser } from './desk-queries';
import { DeskForm, DeskNav, DeskTable, linkClass, SearchBox, ShowMore, TextField, Unread } from './desk-nav';

const listRoute = getRouteApi('/app/desk/customers');
const customerRoute = getRouteApi('/app/desk/customers/$customerId');

/** Customers the agent sees, by name, with search; a new one for those who may edit customers. */
export function CustomersPage() {
  const { q } = listRoute.useSearch();
  const navigate = listRoute.useNavigate();
  const { data: instance } = useSuspenseQuery(instanceQuery);
  const list = useInfiniteQuery(customersQuery(q));
  const apply = useCallback((text: string | undefined) => void navigate({ search: text ? { q: text } : {}, replace: true }), [navigate]);
  const rows = list.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <main className="mx-auto max-w-5xl space-y-4 p-4">
      <DeskNav />
      <h1 className="text-xl font-semibold">Customers</h1>
      <SearchBox label="Search by name" applied={q} apply={apply} />
      <ProblemNotice error={list.error} />
      <DeskTable headings={['Name', 'Third-party id']} testId="customer-rows">
          {rows.map((c) => (
            <tr key={c.id} className="border-b border-slate-100">
              <td className="py-1.5">
                <Link to="/desk/customers/$customerId" params={{ customerId: c.id }} className={linkClass}>
                  {c.name}
                </Link>
              </td>
              <td className="py-1.5 text-slate-700">{c.thirdPartyId ?? '—'}</td>
            </tr>
          ))}
        </DeskTable>
      {list.isSuccess && rows.length === 0 && <p className="text-sm">{q ? `No customer you see is named like “${q}”.` : 'No customer yet.'}</p>}
      <ShowMore list={list} />
      {instance.you.permissions.includes('customers:edit') && <NewCustomerForm />}
    </main>
  );
}

function NewCustomerForm() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [draft, setDraft] = useState({ name: '', thirdPartyId: '' });
  const save = useMutation({
    mutationFn: () => createCustomer({ name: draft.name, thirdPartyId: draft.thirdPartyId.trim() || null }),
    onSuccess: async (customer) => {
      await queryClient.invalidateQueries({ queryKey: ['desk', 'customers'] });
      await navigate({ to: '/desk/customers/$customerId', params: { customerId: customer.id } });
    },
  });
  return (
    <DeskForm label="New customer" className="max-w-md space-y-3 rounded border border-slate-200 p-3" onSubmit={() => save.mutate()}>
      <h2 className="font-semibold">New customer</h2>
      <TextField label="Name" path="name" error={save.error} value={draft.name} onChange={(name) => setDraft({ ...draft, name })} />
      <TextField label="Third-party id (optional)" path="thirdPartyId" error={save.error} value={draft.thirdPartyId} onChange={(thirdPartyId) => setDraft({ ...draft, thirdPartyId })} />
      <ProblemNotice error={save.error} write />
      <Button type="submit" look="primary" isDisabled={save.isPending}>
        Add customer
      </Button>
    </DeskForm>
  );
}

/** One customer: its name and third-party id, and its users, each editable by those who may. */
export function CustomerPage() {
  const { customerId } = customerRoute.useParams();
  const { data: instance } = useSuspenseQuery(instanceQuery);
  const customer = useQuery(customerQuery(customerId));
  const users = useQuery({ ...usersQuery(customerId), enabled: instance.you.permissions.includes('users:read') });
  const has = (p: string) => instance.you.permissions.includes(p);
  if (!customer.data) return <Unread error={customer.error} />;
  return (
    <main className="mx-auto max-w-4xl space-y-4 p-4">
      <DeskNav />
      <nav aria-label="Breadcrumb" className="text-sm">
        <Link to="/desk/customers" className={linkClass}>
          Customers
        </Link>{' '}
        › {customer.data.name}
      </nav>
      <h1 className="text-xl font-semibold">{customer.data.name}</h1>
      {has('customers:edit') ? (
        <CustomerForm key={customer.data.updatedAt} id={customerId} name={customer.data.name} thirdPartyId={customer.data.thirdPartyId} />
      ) : (
        <p className="text-sm">Third-party id: {customer.data.thirdPartyId ?? '—'}</p>
      )}
      {has('users:read') && (
        <section aria-labelledby="users-heading" className="space-y-2">
          <h2 id="users-heading" className="font-semibold">
            Users
          </h2>
          <ProblemNotice error={users.error} />
          {users.data?.length === 0 && <p className="text-sm">No user yet.</p>}
          <ul className="space-y-2" data-testid="user-rows">
            {users.data?.map((u) => <UserRow key={`${u.id}:${u.updatedAt}`} user={u} editable={has('users:edit')} />)}
          </ul>
          {has('users:edit') && <UserForm customerId={customerId} user={null} />}
        </section>
      )}
    </main>
  );
}

function CustomerForm({ id, name, thirdPartyId }: { id: string; name: string; thirdPartyId: string | null }) {
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState({ name, thirdPartyId: thirdPartyId ?? '' });
  const save = useMutation({
    mutationFn: () => updateCustomer(id, { name: draft.name, thirdPartyId: draft.thirdPartyId.trim() || null }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['desk'] }),
  });
  return (
    <DeskForm label="Edit customer" className="max-w-md space-y-3" onSubmit={() => save.mutate()}>
      <TextField label="Name" path="name" error={save.error} value={draft.name} onChange={(name) => setDraft({ ...draft, name })} />
      <TextField label="Third-party id" path="thirdPartyId" error={save.error} value={draft.thirdPartyId} onChange={(thirdPartyId) => setDraft({ ...draft, thirdPartyId })} />
      <ProblemNotice error={save.error} write />
      {save.isSuccess && <p role="status" className="text-sm text-emerald-900">Saved.</p>}
      <Button type="submit" look="primary" isDisabled={save.isPending}>
        Save customer
      </Button>
    </DeskForm>
  );
}

function UserRow({ user, editable }: { user: DeskUser; editable: boolean }) {
  const [editing, setEditing] = useState(false);
  if (editing) return <li><UserForm customerId={user.customerId} user={user} onDone={() => setEditing(false)} /></li>;
  return (
    <li className="flex items-center gap-3 rounded border border-slate-200 px-3 py-2 text-sm">
      <span className="font-medium">{user.name}</span>
      <span className="text-slate-700">{user.email ?? 'no email'}</span>
      {editable && (
        <Button look="quiet" className="ml-auto" aria-label={`Edit ${user.name}`} onPress={() => setEditing(true)}>
          Edit
        </Button>
      )}
    </li>
  );
}

function UserForm({ customerId, user, onDone }: { customerId: string; user: DeskUser | null; onDone?: () => void }) {
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState({ name: user?.name ?? '', email: user?.email ?? '' });
  const save = useMutation({
    mutationFn: () => {
      const body = { name: draft.name, email: draft.email.trim() || null };
      return user ? updateUser(user.id, body) : createUser({ customerId, thirdPartyId: null, ...body });
    },
    onSuccess: async () => {
      setDraft({ name: '', email: '' });
      await queryClient.invalidateQueries({ queryKey: ['desk', 'users', customerId] });
      onDone?.();
    },
  });
  return (
    <DeskForm label={user ? `Edit ${user.name}` : 'New user'} className="max-w-md space-y-3 rounded border border-slate-200 p-3" onSubmit={() => save.mutate()}>
      <h3 className="font-semibold">{user ? `Edit ${user.name}` : 'New user'}</h3>
      <TextField label="User name" path="name" error={save.error} value={draft.name} onChange={(name) => setDraft({ ...draft, name })} />
      <TextField label="Email" path="email" error={save.error} type="email" value={draft.email} onChange={(email) => setDraft({ ...draft, email })} />
      <ProblemNotice error={save.error} write />
      <div className="flex gap-2">
        <Button type="submit" look="primary" isDisabled={save.isPending}>
          {user ? 'Save user' : 'Add user'}
        </Button>
        {onDone && <Button onPress={onDone}>Cancel</Button>}
      </div>
    </DeskForm>
  );
}
