// The demo lake's OpenID Connect provider: oidc-provider (OpenID-certified), configured here, served
// over TLS on 127.0.0.1 only. This file writes no token logic; it says which clients, keys, resources
// (audiences and their scopes), grants and lifetimes the provider has, and serves the login and
// consent pages, which check a user's password against the lake's users file.
//
//   node provider.mjs PROVIDER_JSON
//
// PROVIDER_JSON (written by `odlake lake up`, 0600) names the issuer, the port, the TLS certificate
// and key, the signing keys (JWKS), the users file, the clients and the resources. The users file is
// read again at each sign-in, so that `odlake lake user add` needs no restart. State (sessions,
// grants, refresh tokens) is kept in memory: a restart signs everyone out, while the access tokens
// already issued stay valid until they expire (the keys are kept on disk).

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import { scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

import Provider, { errors } from 'oidc-provider';

const settings = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const jwks = JSON.parse(readFileSync(settings.jwks, 'utf8'));
const scryptAsync = promisify(scrypt);
const FORM_LIMIT = 16 * 1024;

const escape = (text) =>
  String(text).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]
  );

async function users() {
  return JSON.parse(await readFile(settings.users, 'utf8'));
}

// a user's password against the salted scrypt hash the lake keeps; a name the lake does not know
// costs the same time as a wrong password
const DUMMY = { salt: 'AAAAAAAAAAAAAAAAAAAAAA', hash: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', N: 16384, r: 8, p: 1 };
async function passwordMatches(name, password) {
  const all = await users();
  const known = Object.hasOwn(all, name) ? all[name] : undefined;
  const record = known || DUMMY;
  const expected = Buffer.from(record.hash, 'base64url');
  const got = await scryptAsync(String(password), Buffer.from(record.salt, 'base64url'), expected.length, {
    N: record.N,
    r: record.r,
    p: record.p,
    maxmem: 64 * 1024 * 1024
  });
  return Boolean(known) && timingSafeEqual(got, expected);
}

async function findAccount(_ctx, sub) {
  if (!Object.hasOwn(await users(), sub)) {
    return undefined;
  }
  return {
    accountId: sub,
    async claims() {
      return { sub, preferred_username: sub, name: sub, email: `${sub}@odlake.invalid`, email_verified: false };
    }
  };
}

// the resources tokens are for: Rucio (aud "rucio") and storage (the WLCG "any" audience)
function resourceServer(indicator) {
  const resource = settings.resources[indicator];
  if (!resource) {
    throw new errors.InvalidTarget(`unknown resource ${indicator}`);
  }
  return {
    audience: resource.audience,
    scope: resource.scope,
    accessTokenFormat: 'jwt',
    accessTokenTTL: settings.accessTokenLifetime,
    jwt: { sign: { alg: resource.alg || 'RS256' } }
  };
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} · odlake demo lake</title>
<style>
body{font-family:system-ui,sans-serif;max-width:26em;margin:3em auto;padding:0 1em;color:#222}
h1{font-weight:400}input{display:block;width:100%;box-sizing:border-box;margin:.3em 0 1em;padding:.5em;font-size:1em}
button{padding:.5em 1.2em;font-size:1em}.error{color:#b00020}.fine{color:#555;font-size:.9em}
</style>
</head>
<body>
<h1>${escape(title)}</h1>
${body}
</body>
</html>`;
}

const configuration = {
  clients: settings.clients,
  jwks,
  cookies: { keys: settings.cookieKeys },
  findAccount,
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified']
  },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  // the ID token carries the claims of its scopes (preferred_username), as IAM's and Keycloak's do: a hub
  // takes the user's name from it, since the access tokens are for Rucio and storage, not for userinfo
  conformIdTokenClaims: false,
  responseTypes: ['code', 'none'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    deviceFlow: {
      enabled: true,
      async userCodeInputSource(ctx, form, _out, err) {
        const message = err ? 'That code is not valid (or has expired). Try again.' : 'Enter the code your terminal shows.';
        ctx.body = page(
          'Sign in a device',
          `<p class="${err ? 'error' : ''}">${escape(message)}</p>${form}<button type="submit" form="op.deviceInputForm">Continue</button>`
        );
      },
      async userCodeConfirmSource(ctx, form, client, _deviceInfo, userCode) {
        ctx.body = page(
          'Confirm the device',
          `<p><strong>${escape(client.clientName || client.clientId)}</strong> asks to sign in with the code <code>${escape(userCode)}</code>.</p>` +
            `<p class="fine">If your terminal does not show this code, do not continue.</p>${form}` +
            '<button type="submit" form="op.deviceConfirmForm">Continue</button> ' +
            '<button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>'
        );
      },
      async successSource(ctx) {
        ctx.body = page('Signed in', '<p>The device is signed in. You can close this page.</p>');
      }
    },
    resourceIndicators: {
      enabled: true,
      // no resource asked for: a token for Rucio (a client with resources of its own, such as the hub's,
      // is granted all of them at sign-in); several granted: Rucio's, unless one is asked for
      async defaultResource(_ctx, client, oneOf) {
        if (oneOf) {
          return oneOf.includes(settings.defaultResource) ? settings.defaultResource : oneOf[0];
        }
        return (settings.clientResources || {})[client.clientId] || settings.defaultResource;
      },
      async useGrantedResource() {
        return true;
      },
      async getResourceServerInfo(_ctx, indicator) {
        return resourceServer(indicator);
      }
    }
  },
  formats: {
    customizers: {
      // the WLCG Common JWT Profile: its version claim, and a not-before
      async jwt(_ctx, _token, jwt) {
        jwt.payload['wlcg.ver'] = '1.0';
        jwt.payload.nbf = jwt.payload.iat;
        return jwt;
      }
    }
  },
  ttl: {
    AccessToken: settings.accessTokenLifetime,
    ClientCredentials: settings.accessTokenLifetime,
    IdToken: settings.accessTokenLifetime,
    RefreshToken: settings.refreshTokenLifetime,
    DeviceCode: 600,
    AuthorizationCode: 60,
    Interaction: 600,
    Session: settings.refreshTokenLifetime,
    Grant: settings.refreshTokenLifetime
  },
  rotateRefreshToken: true,
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Sign-in failed', `<p class="error">${escape(out.error_description || out.error)}</p>`);
  }
};

const provider = new Provider(settings.issuer, configuration);

async function formBody(ctx) {
  let size = 0;
  const chunks = [];
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > FORM_LIMIT) {
      ctx.throw(413, 'form too large');
    }
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function loginPage(uid, client, name, failed) {
  const error = failed ? '<p class="error">Wrong user name or password.</p>' : '';
  return page(
    'Sign in',
    `<p>to <strong>${escape(client.clientName || client.clientId)}</strong> with your lake account.</p>${error}` +
      `<form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">` +
      `<label>User name<input name="login" value="${escape(name || '')}" autofocus required></label>` +
      '<label>Password<input name="password" type="password" required></label>' +
      '<button type="submit">Sign in</button></form>' +
      `<p class="fine"><a href="/interaction/${escape(uid)}/abort">Cancel</a></p>`
  );
}

function consentPage(uid, client, details, accountId) {
  const scopes = new Set(details.missingOIDCScope || []);
  for (const more of Object.values(details.missingResourceScopes || {})) {
    more.forEach((s) => scopes.add(s));
  }
  const items = [...scopes].map((s) => `<li><code>${escape(s)}</code></li>`).join('');
  return page(
    'Allow access',
    `<p><strong>${escape(client.clientName || client.clientId)}</strong> asks to act as <strong>${escape(accountId)}</strong> with:</p>` +
      `<ul>${items}</ul>` +
      `<form method="post" action="/interaction/${escape(uid)}/confirm"><button type="submit">Allow</button></form>` +
      `<p class="fine"><a href="/interaction/${escape(uid)}/abort">Deny</a></p>`
  );
}

// the interaction pages: login (a password the lake knows) and consent
provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([\w-]+)(?:\/(login|confirm|abort))?$/.exec(ctx.path);
  if (!match) {
    return next();
  }
  const [, uid, action] = match;
  ctx.set('cache-control', 'no-store');
  ctx.set('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'");
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== uid) {
    ctx.throw(400, 'this sign-in page belongs to another sign-in');
  }
  const client = await provider.Client.find(details.params.client_id);
  const { prompt } = details;

  if (!action && ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body =
      prompt.name === 'login'
        ? loginPage(uid, client, details.params.login_hint)
        : consentPage(uid, client, prompt.details, details.session.accountId);
    return undefined;
  }
  if (action === 'abort' && ctx.method === 'GET') {
    const result = { error: 'access_denied', error_description: 'The user cancelled the sign-in.' };
    return provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  }
  if (action === 'login' && ctx.method === 'POST' && prompt.name === 'login') {
    const form = await formBody(ctx);
    const name = form.get('login') || '';
    if (!(await passwordMatches(name, form.get('password') || ''))) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = loginPage(uid, client, name, true);
      return undefined;
    }
    return provider.interactionFinished(
      ctx.req,
      ctx.res,
      { login: { accountId: name } },
      { mergeWithLastSubmission: false }
    );
  }
  if (action === 'confirm' && ctx.method === 'POST' && prompt.name === 'consent') {
    await formBody(ctx);
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    if (prompt.details.missingOIDCScope) {
      grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    }
    if (prompt.details.missingOIDCClaims) {
      grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    }
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes || {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const result = { consent: { grantId: await grant.save() } };
    return provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
  }
  ctx.throw(405, 'not a step of this sign-in');
  return undefined;
});

const tls = { cert: readFileSync(settings.tls.cert), key: readFileSync(settings.tls.key) };
const server = createServer(tls, provider.callback());
server.listen(settings.port, '127.0.0.1', () => {
  console.log(`odlake lake OpenID Connect provider ${settings.issuer} on 127.0.0.1:${settings.port}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0)); // nothing to save: its state is in memory
}
