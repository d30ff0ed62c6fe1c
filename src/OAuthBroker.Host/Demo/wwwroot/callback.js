// The return page, in a pop-up or after a full-page redirect. The provider leg is done; a link exists only after
// the completion step by the signed-in user, from this browser.
'use strict';

// The broker's origin as the demo page kept it (its own origin when empty).
const client = OAuthBrokerClient(sessionStorage.getItem('demo_broker') || '');
const outcome = client.takeOutcome();
const message = document.getElementById('message');

function show(result) {
  message.textContent = result.result === 'linked'
    ? `Connected ${result.provider}. You can close this window.`
    : `Not connected (${result.error}).`;
}

if (window.opener) {
  // Pop-up: hand the outcome (and the completion code) to the page that opened it, on this very origin only, and
  // close. The opener holds the user's credential and completes.
  window.opener.postMessage(outcome, location.origin);
  window.close();
} else if (outcome.result === 'pending') {
  // Full-page redirect: this page is the app; it completes as the signed-in user, then shows the final outcome.
  client.complete(outcome.provider, outcome.completion, sessionStorage.getItem('demo_bearer')).then((done) => {
    client.showOutcomeInUrl(done);
    show(done);
  });
} else {
  show(outcome);
}
