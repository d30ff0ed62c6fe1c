// Demo page logic: who the user is (development identity cookie, or a bearer token as a single-page app holds one),
// connecting in a pop-up or with a full-page redirect, the completion step, the link list. Nothing third-party.
'use strict';

const userCookie = 'dev_user';
const tokenKey = 'demo_bearer';
// The broker's origin: this page's own, or, when these files are served as a frontend on another site, the one named
// by ?broker= (kept for the return page; the page's Content-Security-Policy lets it connect to the broker's configured
// public origin only). Across sites only the bearer-token mode works: the dev_user cookie belongs to this site.
const brokerKey = 'demo_broker';
const brokerOrigin = new URLSearchParams(location.search).get('broker') || sessionStorage.getItem(brokerKey) || '';
sessionStorage.setItem(brokerKey, brokerOrigin);
const client = OAuthBrokerClient(brokerOrigin);

function currentUser() {
  const match = document.cookie.split('; ').find((c) => c.startsWith(userCookie + '='));
  return match ? decodeURIComponent(match.slice(userCookie.length + 1)) : '';
}

// A real single-page app keeps its token wherever it already does; the demo keeps it for this tab only, so that a
// full-page redirect can find it again.
function currentToken() {
  return sessionStorage.getItem(tokenKey) || '';
}

function setUser(user) {
  sessionStorage.removeItem(tokenKey);
  document.cookie = `${userCookie}=${encodeURIComponent(user)}; path=/; SameSite=Lax`;
  render();
}

function setToken(token) {
  // The development identity would win over the token: drop it.
  document.cookie = `${userCookie}=; path=/; SameSite=Lax; max-age=0`;
  sessionStorage.setItem(tokenKey, token);
  render();
}

function show(message) {
  document.getElementById('status').textContent = message;
}

function describe(outcome) {
  return outcome.result === 'linked' ? `Linked ${outcome.provider}.` : `Linking ${outcome.provider} failed: ${outcome.error}.`;
}

async function api(path, options = {}) {
  const token = currentToken();
  const headers = { Accept: 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) };
  const response = await fetch(brokerOrigin + path, { credentials: 'same-origin', headers, ...options });
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

async function connect(provider) {
  if (!currentUser() && !currentToken()) {
    show('Choose a user or a token first.');
    return;
  }
  const fullPage = document.getElementById('full-page').checked;
  // Pop-ups open before any await, or the browser blocks them as not caused by the click.
  const popup = fullPage ? null : window.open('about:blank', 'oauth-broker', 'width=520,height=720');
  if (!fullPage && !popup) {
    show('The pop-up was blocked; allow pop-ups for this page.');
    return;
  }
  try {
    const url = await client.startUrl(provider.id, `${location.origin}/demo/callback.html`, currentToken());
    if (fullPage) {
      location.assign(url);
      return;
    }
    popup.location = url;
    show(`Waiting for ${provider.displayName}…`);
  } catch (e) {
    if (popup) {
      popup.close();
    }
    show(`Could not start: ${e.message}`);
  }
}

// The pop-up's return page reports here; only messages from this very origin are believed. A pending outcome is
// completed by this page, which holds the user's credential.
window.addEventListener('message', async (event) => {
  if (event.origin !== location.origin || !event.data || event.data.type !== 'oauth-broker-result') {
    return;
  }
  const { provider, result, error, completion } = event.data;
  const outcome = result === 'pending' ? await client.complete(provider, completion, currentToken()) : { provider, result, error };
  show(describe(outcome));
  loadLinks();
});

async function loadLinks() {
  const body = document.getElementById('links');
  body.replaceChildren();
  if (!currentUser() && !currentToken()) {
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
  document.getElementById('current-user').textContent = user
    ? `Signed in as ${user}.`
    : currentToken() ? 'Signed in with a bearer token.' : 'No user chosen yet.';
  loadLinks();
}

document.getElementById('user-form').addEventListener('submit', (event) => {
  event.preventDefault();
  setUser(document.getElementById('user').value.trim());
});

document.getElementById('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  setToken(document.getElementById('token').value.trim());
});

// The local run's webhook receiver, as the broker's local-run-only feed reports it. Only on the broker's own site: the
// feed is not part of the broker's API, so a page served from another site has nothing to poll.
const eventsPollMilliseconds = 1000;

async function loadEvents() {
  const status = document.getElementById('events-status');
  if (brokerOrigin) {
    status.textContent = 'Events received are shown on the broker\'s own demo page.';
    return;
  }
  let feed;
  try {
    const response = await fetch('/demo/received-events', { headers: { Accept: 'application/json' }, cache: 'no-store' });
    if (response.status === 404) {
      status.textContent = 'No webhook receiver runs here (the local run starts one).';
      return;
    }
    feed = await response.json();
  } catch (e) {
    status.textContent = `Could not load events: ${e.message}`;
    setTimeout(loadEvents, eventsPollMilliseconds);
    return;
  }
  if (!feed.receiver) {
    status.textContent = 'This local run was started without a webhook receiver.';
    return;
  }
  status.textContent = `Receiver: ${feed.receiver} — ${feed.events.length} event(s).`;
  const rows = feed.events.map((e) => {
    const row = document.createElement('tr');
    row.dataset.id = e.id;
    row.dataset.type = e.type;
    row.dataset.verified = String(e.verified);
    const time = e.occurredAt ? new Date(e.occurredAt).toLocaleTimeString() : '—';
    const signature = e.verified ? 'verified' : 'NOT verified';
    for (const text of [e.type, e.provider || '—', e.accountId || '—', e.userId || '—', time, e.deliveries > 1 ? `${signature} (${e.deliveries} deliveries)` : signature]) {
      const cell = document.createElement('td');
      cell.textContent = text;
      row.append(cell);
    }
    if (!e.verified) {
      row.className = 'unverified';
    }
    return row;
  });
  document.getElementById('events').replaceChildren(...rows);
  setTimeout(loadEvents, eventsPollMilliseconds);
}

loadProviders().catch((e) => show(`Could not load providers: ${e.message}`));
render();
loadEvents();
