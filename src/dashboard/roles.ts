/** Roles tab: built-in and custom roles; define or change a custom role with a permission picker. */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { ALL_PERMISSIONS, holds } from '../core/permissions.ts';
import type { PermissionView, Role } from './api.ts';
import type { Ctx } from './context.ts';
import { slugify } from './format.ts';
import { Badge, Dialog, ErrorBox, LoadError, Loading, useAction, useAsync } from './ui.ts';

function groupPermissions(permissions: readonly PermissionView[]): [string, PermissionView[]][] {
  const groups = new Map<string, PermissionView[]>();
  for (const p of permissions) {
    const ns = p.name.split('.')[0] ?? p.name;
    groups.set(ns, [...(groups.get(ns) ?? []), p]);
  }
  return [...groups.entries()];
}

/** Defines a custom role, or changes one (`role`): its id stays, name, description and permissions change. */
function RoleDialog({ ctx, permissions, role, onClose, onSaved }: { ctx: Ctx; permissions: PermissionView[]; role?: Role; onClose: () => void; onSaved: (role: Role) => void }) {
  const editing = role !== undefined;
  const [name, setName] = useState(role?.name ?? '');
  const [id, setId] = useState(role?.id ?? '');
  const [idTouched, setIdTouched] = useState(editing);
  const [description, setDescription] = useState(role?.description ?? '');
  const [chosen, setChosen] = useState<Set<string>>(new Set(role?.permissions ?? []));
  // Saved, the dialog closes.
  const { busy, error, run } = useAction({ keepBusyOnSuccess: true });
  const toggle = (perm: string, on: boolean) =>
    setChosen((s) => {
      const next = new Set(s);
      if (on) next.add(perm);
      else next.delete(perm);
      return next;
    });
  const submit = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const body = { name, description, permissions: [...chosen] };
      onSaved(await (editing ? ctx.api.updateRole(id, body) : ctx.api.createRole({ id, ...body })));
    });
  };
  return h(
    Dialog,
    { title: editing ? `Edit Role ${role.name}` : 'New Role', onClose, class: 'wide' },
    h(
      'form',
      { onSubmit: submit, class: 'form' },
      h('label', { for: 'role-name' }, 'Name'),
      h('input', {
        id: 'role-name',
        value: name,
        required: true,
        maxLength: 100,
        autocomplete: 'off',
        placeholder: 'e.g. Geo reader',
        onInput: (e: Event) => {
          const value = (e.target as HTMLInputElement).value;
          setName(value);
          if (!idTouched) setId(slugify(value));
        },
      }),
      h('label', { for: 'role-id' }, 'Role ID'),
      h('input', {
        id: 'role-id',
        value: id,
        required: true,
        readOnly: editing,
        class: 'mono',
        pattern: '[a-z][a-z0-9\\-]{0,62}',
        'aria-describedby': 'role-id-help',
        autocomplete: 'off',
        onInput: (e: Event) => {
          setIdTouched(true);
          setId((e.target as HTMLInputElement).value);
        },
      }),
      h(
        'p',
        { id: 'role-id-help', class: 'help' },
        editing
          ? 'A role’s ID cannot change: keys and manifests refer to it.'
          : 'Lowercase letters, digits and dashes; used in the API and manifests (role: geo-reader).',
      ),
      h('label', { for: 'role-description' }, 'Description'),
      h('input', { id: 'role-description', value: description, maxLength: 500, autocomplete: 'off', onInput: (e: Event) => setDescription((e.target as HTMLInputElement).value) }),
      h(
        'fieldset',
        { class: 'permission-picker' },
        h('legend', null, 'Permissions'),
        h('p', { class: 'help' }, 'Grant only what the keys with this role need. You can grant only permissions your own key holds.'),
        groupPermissions(permissions).map(([ns, perms]) =>
          h(
            'div',
            { key: ns, class: 'permission-group' },
            h('h3', null, ns),
            perms.map((p) => {
              const held = holds(ctx.me.permissions, p.name);
              const inputId = `perm-${p.name.replace(/[^a-z0-9]/gi, '-')}`;
              return h(
                'div',
                { key: p.name, class: 'check' },
                h('input', {
                  type: 'checkbox',
                  id: inputId,
                  checked: chosen.has(p.name),
                  disabled: !held,
                  'aria-describedby': `${inputId}-desc`,
                  onChange: (e: Event) => toggle(p.name, (e.target as HTMLInputElement).checked),
                }),
                h('label', { for: inputId }, h('code', null, p.name)),
                h('span', { id: `${inputId}-desc`, class: 'help' }, p.description || (p.builtin ? '' : 'Defined by your organization'), held ? '' : ' (your key does not hold it)'),
              );
            }),
          ),
        ),
      ),
      h(ErrorBox, { error, title: editing ? 'The role was not changed' : 'The role was not created' }),
      h(
        'div',
        { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'button', onClick: onClose }, 'Cancel'),
        h(
          'button',
          { type: 'submit', class: 'button primary', disabled: busy || chosen.size === 0 },
          editing ? (busy ? 'Saving…' : 'Save Changes') : busy ? 'Creating…' : 'Create Role',
        ),
      ),
    ),
  );
}

function CreatePermissionDialog({ ctx, onClose, onCreated }: { ctx: Ctx; onClose: () => void; onCreated: (p: PermissionView) => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      onCreated(await ctx.api.createPermission({ name, description }));
    } catch (e) {
      setError(e);
    }
  };
  return h(
    Dialog,
    { title: 'New Permission', onClose },
    h(
      'form',
      { onSubmit: submit, class: 'form' },
      h('p', { class: 'help' }, 'Permissions for your own API, checked with POST /v1/verify {key, permission}.'),
      h('label', { for: 'perm-name' }, 'Permission name'),
      h('input', { id: 'perm-name', class: 'mono', value: name, required: true, placeholder: 'geo.read', autocomplete: 'off', onInput: (e: Event) => setName((e.target as HTMLInputElement).value) }),
      h('label', { for: 'perm-description' }, 'Description'),
      h('input', { id: 'perm-description', value: description, maxLength: 500, autocomplete: 'off', onInput: (e: Event) => setDescription((e.target as HTMLInputElement).value) }),
      h(ErrorBox, { error, title: 'The permission was not created' }),
      h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'button', onClick: onClose }, 'Cancel'), h('button', { type: 'submit', class: 'button primary' }, 'Create Permission')),
    ),
  );
}

export function RolesTab({ ctx }: { ctx: Ctx }) {
  const roles = useAsync(async () => (await ctx.api.listRoles()).items, []);
  const permissions = useAsync(async () => (await ctx.api.listPermissions()).items, []);
  const [dialog, setDialog] = useState<'role' | 'permission' | { edit: Role } | { delete: Role } | null>(null);
  const [deleteError, setDeleteError] = useState<unknown>(null);
  const mayCreate = ctx.mayCall('createRole') && ctx.mayCall('createPermission');
  const mayChange = ctx.mayCall('updateRole') && ctx.mayCall('deleteRole');
  const editing = dialog && typeof dialog === 'object' && 'edit' in dialog ? dialog.edit : undefined;

  const remove = async (role: Role) => {
    setDeleteError(null);
    try {
      await ctx.api.deleteRole(role.id);
      setDialog(null);
      ctx.announce(`Role "${role.name}" deleted.`);
      roles.reload();
      ctx.reloadRoles();
    } catch (e) {
      setDeleteError(e);
    }
  };

  return h(
    'section',
    { 'aria-labelledby': 'tab-title' },
    h(
      'div',
      { class: 'page-head' },
      h('h1', { id: 'tab-title', tabIndex: -1 }, 'Roles'),
      mayCreate
        ? h(
            'span',
            { class: 'actions' },
            h('button', { type: 'button', class: 'button', onClick: () => setDialog('permission') }, '+ New Permission'),
            h('button', { type: 'button', class: 'button primary', onClick: () => setDialog('role'), disabled: !permissions.data }, '+ New Role'),
          )
        : null,
    ),
    h('p', { class: 'summary' }, 'A key’s role decides what it may do. Built-in roles cover the common cases; define custom roles for least privilege.'),
    roles.error ? h(LoadError, { error: roles.error, feature: 'Roles', operation: 'listRoles' }) : null,
    roles.loading && !roles.data ? h(Loading, { what: 'roles' }) : null,
    roles.data
      ? h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'roles-table' },
            h('caption', { class: 'visually-hidden' }, 'Roles'),
            h('thead', null, h('tr', null, ['Role', 'Permissions', 'Type', 'Actions'].map((c) => h('th', { key: c, scope: 'col' }, c)))),
            h(
              'tbody',
              null,
              roles.data.map((role) =>
                h(
                  'tr',
                  { key: role.id, 'data-role-id': role.id },
                  h('th', { scope: 'row', 'data-label': 'Role' }, h('div', null, role.name, ' ', h('code', { class: 'muted' }, role.id), role.description ? h('p', { class: 'help' }, role.description) : null)),
                  h(
                    'td',
                    { 'data-label': 'Permissions' },
                    h('ul', { class: 'chips' }, (role.permissions.includes(ALL_PERMISSIONS) ? ['* (all)'] : role.permissions).map((p) => h('li', { key: p }, h('code', null, p)))),
                  ),
                  h('td', { 'data-label': 'Type' }, role.builtin ? h(Badge, { tone: 'neutral' }, 'Built-in') : h(Badge, { tone: 'info' }, 'Custom')),
                  h(
                    'td',
                    { 'data-label': 'Actions' },
                    mayChange && !role.builtin
                      ? h(
                          'span',
                          { class: 'actions' },
                          h('button', { type: 'button', class: 'button small', 'aria-label': `Edit role ${role.name}`, onClick: () => setDialog({ edit: role }), disabled: !permissions.data }, 'Edit'),
                          h('button', { type: 'button', class: 'button small danger', 'aria-label': `Delete role ${role.name}`, onClick: () => (setDeleteError(null), setDialog({ delete: role })) }, 'Delete'),
                        )
                      : h('span', { class: 'muted' }, '—'),
                  ),
                ),
              ),
            ),
          ),
        )
      : null,
    permissions.error && mayCreate ? h(LoadError, { error: permissions.error, feature: 'Permissions', operation: 'listPermissions' }) : null,
    (dialog === 'role' || editing) && permissions.data
      ? h(RoleDialog, {
          ctx,
          permissions: permissions.data,
          role: editing,
          onClose: () => setDialog(null),
          onSaved: (role) => {
            ctx.announce(`Role "${role.name}" ${editing ? 'saved' : 'created'}.`);
            setDialog(null);
            roles.reload();
            ctx.reloadRoles();
          },
        })
      : null,
    dialog === 'permission'
      ? h(CreatePermissionDialog, {
          ctx,
          onClose: () => setDialog(null),
          onCreated: (p) => {
            setDialog(null);
            ctx.announce(`Permission "${p.name}" created.`);
            permissions.reload();
          },
        })
      : null,
    dialog && typeof dialog === 'object' && 'delete' in dialog
      ? h(
          Dialog,
          { title: 'Delete role?', onClose: () => setDialog(null) },
          h('p', null, 'Delete the custom role ', h('strong', null, dialog.delete.name), ' (', h('code', null, dialog.delete.id), ')? Roles that keys still hold cannot be deleted.'),
          h(ErrorBox, { error: deleteError, title: 'The role was not deleted' }),
          h(
            'div',
            { class: 'dialog-actions' },
            h('button', { type: 'button', class: 'button', onClick: () => setDialog(null), autofocus: true }, 'Cancel'),
            h('button', { type: 'button', class: 'button danger', onClick: () => remove(dialog.delete) }, 'Delete Role'),
          ),
        )
      : null,
  );
}
