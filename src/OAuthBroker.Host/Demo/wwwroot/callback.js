// Last page of the pop-up: hand the outcome to the opener (same origin only), then close.
'use strict';

const query = new URLSearchParams(location.search);
const outcome = {
  type: 'oauth-broker-result',
  provider: query.get('oauth_provider'),
  result: query.get('oauth_result'),
  error: query.get('oauth_error'),
};

document.getElementById('message').textContent =
  outcome.result === 'linked' ? 'Connected. You can close this window.' : `Not connected (${outcome.error}).`;

if (window.opener) {
  window.opener.postMessage(outcome, location.origin);
  window.close();
}
