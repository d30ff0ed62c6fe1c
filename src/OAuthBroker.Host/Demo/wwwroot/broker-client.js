// The frontend's side of the broker's contract: the few functions a platform's frontend needs, with nothing
// demo-specific in them. The demo page and its return page both use it; a single-page app on another origin (or
// another site) passes the broker's origin and its own bearer token.
'use strict';

function OAuthBrokerClient(brokerOrigin) {
  const base = brokerOrigin || '';
  const bearer = (token) => (token ? { Authorization: `Bearer ${token}` } : {});
  const verifierKey = (provider) => `oauth-broker-verifier:${provider}`;
  const base64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

  // RFC 7636 §4.1 and §4.2, applied to the completion step: 32 random bytes as the verifier, its SHA-256 as the
  // challenge. The verifier stays in this tab (sessionStorage survives the full-page redirect, and a pop-up's opener
  // keeps it) and goes to the broker only with the completion; the challenge goes with the ticket request.
  async function newCompletionChallenge(provider) {
    const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
    sessionStorage.setItem(verifierKey(provider), verifier);
    return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  }

  // Where to send the browser to start a connection. With a bearer token (which a pop-up or a navigation cannot
  // carry) the app first trades it for a 60-second start ticket bound to a completion challenge; with a cookie
  // identity it goes straight to authorize. Open the URL from this page, so the browser's Referer names its origin
  // (the broker starts a challenge ticket only for a configured frontend's page; keep the default referrer policy).
  async function startUrl(provider, returnUrl, token) {
    const path = `/api/oauth/${encodeURIComponent(provider)}`;
    if (!token) {
      return `${base}${path}/authorize?returnUrl=${encodeURIComponent(returnUrl)}`;
    }
    const challenge = await newCompletionChallenge(provider);
    const response = await fetch(`${base}${path}/start?returnUrl=${encodeURIComponent(returnUrl)}&completionChallenge=${challenge}`, {
      method: 'POST', credentials: 'omit', headers: { Accept: 'application/json', ...bearer(token) },
    });
    const body = await response.json();
    if (!response.ok) {
      throw new Error(body.detail || `HTTP ${response.status}`);
    }
    return base + body.authorizeUrl;
  }

  // On the return page: the outcome, and the one-time completion code from the fragment, which leaves the address
  // bar and the history entry at once (RFC 9700 §4.3).
  function takeOutcome() {
    const query = new URLSearchParams(location.search);
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (location.hash) {
      history.replaceState(null, '', location.pathname + location.search);
    }
    return {
      type: 'oauth-broker-result',
      provider: query.get('oauth_provider'),
      result: query.get('oauth_result'),
      error: query.get('oauth_error'),
      completion: fragment.get('oauth_completion'),
    };
  }

  // The completion step: the code and the signed-in user's credential, bound to this frontend by the verifier kept
  // at start (a bearer-token app, on any site) or to this browser by its cookies (credentials: 'include' carries the
  // browser-binding cookie, which only a page on the broker's own site sends). Only then is the account linked.
  async function complete(provider, completion, token) {
    const verifier = sessionStorage.getItem(verifierKey(provider));
    sessionStorage.removeItem(verifierKey(provider));
    const response = await fetch(`${base}/api/oauth/${encodeURIComponent(provider)}/complete`, {
      method: 'POST',
      credentials: 'include',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json', ...bearer(token) },
      body: JSON.stringify(verifier ? { completion, verifier } : { completion }),
    });
    const body = await response.json().catch(() => null);
    return response.ok
      ? { provider, result: 'linked', accountId: body.accountId }
      : { provider, result: 'error', error: body && body.code ? body.code : `http_${response.status}`, detail: body && body.detail };
  }

  // Puts the final outcome where the pending one was, so a reload shows the truth and no code is left behind.
  function showOutcomeInUrl(outcome) {
    const query = new URLSearchParams(location.search);
    query.set('oauth_result', outcome.result);
    if (outcome.error) {
      query.set('oauth_error', outcome.error);
    }
    history.replaceState(null, '', `${location.pathname}?${query}`);
  }

  return { startUrl, takeOutcome, complete, showOutcomeInUrl };
}
