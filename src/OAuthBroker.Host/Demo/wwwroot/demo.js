// Demo page logic: development identity in a cookie, pop-up flow, link list. No frameworks, nothing third-party.
'use strict';

const userCookie = 'dev_user';

function currentUser() {
  const match = document.cookie.split('; ').find((c) => c.startsWith(userCookie + '='));
  return match ? decodeURIComponent(match.slice(userCookie.length + 1)) : '';
}

function setUser(user) {
  document.cookie = `${userCookie}=${encodeURIComponent(user)}; path=/; SameSite=Lax`;
  render();
}

function show(message) {
  document.getElementById('status').textContent = message;
}

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' }, ...options });
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    throw new Error(body && body.detail ? body.detail : `HTTP ${response.status}`);
  }
  return body;
}

async function loadProviders() {
  const list = document.getElementById('providers');
  list.replaceChildren();
  for (const provider of await api('/api/providers')) {
    const item = document.createElement('li');
    const button = document.createElement('button');
    button.textContent = `Connect ${provider.displayName}`;
    button.dataset.provider = provider.id;
    button.addEventListener('click', () => connect(provider));
    item.append(button);
    list.append(item);
  }
}

function connect(provider) {
  if (!currentUser()) {
    show('Choose a user first.');
    return;
  }
  const returnUrl = `${location.origin}/demo/callback.html`;
  const url = `/api/oauth/${encodeURIComponent(provider.id)}/authorize?returnUrl=${encodeURIComponent(returnUrl)}`;
  const popup = window.open(url, 'oauth-broker', 'width=520,height=720');
  if (!popup) {
    show('The pop-up was blocked; allow pop-ups for this page.');
    return;
  }
  show(`Waiting for ${provider.displayName}…`);
}

// The pop-up's last page reports the outcome; only messages from this very origin are believed.
window.addEventListener('message', (event) => {
  if (event.origin !== location.origin || !event.data || event.data.type !== 'oauth-broker-result') {
    return;
  }
  const { provider, result, error } = event.data;
  show(result === 'linked' ? `Linked ${provider}.` : `Linking ${provider} failed: ${error}.`);
  loadLinks();
});

async function loadLinks() {
  const body = document.getElementById('links');
  body.replaceChildren();
  if (!currentUser()) {
    return;
  }
  try {
    for (const link of await api('/api/links')) {
      const row = document.createElement('tr');
      row.dataset.provider = link.provider;
      row.dataset.account = link.accountId;
      for (const text of [link.provider, link.accountId, link.status, link.accessTokenExpiresAt ? new Date(link.accessTokenExpiresAt).toLocaleString() : '—', link.hasApiKey ? 'yes' : 'no']) {
        const cell = document.createElement('td');
        cell.textContent = text;
        row.append(cell);
      }
      const actions = document.createElement('td');
      const unlink = document.createElement('button');
      unlink.textContent = 'Unlink';
      unlink.addEventListener('click', async () => {
        try {
          const outcome = await api(`/api/links/${encodeURIComponent(link.provider)}/${encodeURIComponent(link.accountId)}`, { method: 'DELETE' });
          show(`Unlinked ${link.provider} ${link.accountId} (revocation: ${outcome.revocation}).`);
        } catch (e) {
          show(`Unlink failed: ${e.message}`);
        }
        loadLinks();
      });
      actions.append(unlink);
      row.append(actions);
      body.append(row);
    }
  } catch (e) {
    show(`Could not load links: ${e.message}`);
  }
}

function render() {
  const user = currentUser();
  document.getElementById('user').value = user || 'alice';
  document.getElementById('current-user').textContent = user ? `Signed in as ${user}.` : 'No user chosen yet.';
  loadLinks();
}

document.getElementById('user-form').addEventListener('submit', (event) => {
  event.preventDefault();
  setUser(document.getElementById('user').value.trim());
});

loadProviders().catch((e) => show(`Could not load providers: ${e.message}`));
render();
