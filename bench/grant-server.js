// The peer: grant (npm OAuth proxy) on express, configured for the same sandbox OpenID Connect provider as the
// broker's "acme". Like the broker it keeps per-flow state (grant: an in-memory express-session) and sends PKCE.
'use strict';
const express = require('express');
const session = require('express-session');
const grant = require('grant').express();

const port = Number(process.env.PORT);
express()
  .use(session({ secret: 'benchmark-only-session-secret', saveUninitialized: true, resave: false }))
  .use(grant({
    defaults: { origin: `http://127.0.0.1:${port}`, transport: 'session', state: true, nonce: true },
    sandbox: {
      authorize_url: process.env.AUTHORIZE_URL,
      access_url: process.env.ACCESS_URL,
      oauth: 2,
      key: process.env.CLIENT_ID,
      secret: process.env.CLIENT_SECRET,
      scope: ['openid', 'profile'],
      pkce: true,
      callback: '/done',
    },
  }))
  .get('/done', (req, res) => res.end('done'))
  .listen(port, '127.0.0.1', () => console.log(`grant listening on ${port}`));
