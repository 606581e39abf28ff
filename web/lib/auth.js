// Read tokens (README, "Reading"): when the server requires one, open the
// dashboard once as /?token=TOKEN. The token is kept in this tab's
// sessionStorage (and taken out of the address bar), added as
// `Authorization: Bearer` to every same-origin /v1/ fetch, and as
// `access_token` to event-stream URLs (EventSource cannot set headers).
// Without a token nothing changes. Imported first by app.js.

const KEY = 'viewpipe-read-token';

function takeTokenFromUrl() {
  const url = new URL(location.href);
  const token = url.searchParams.get('token');
  if (token === null) return;
  sessionStorage.setItem(KEY, token);
  url.searchParams.delete('token');
  history.replaceState(null, '', url);
}

export function readToken() {
  return sessionStorage.getItem(KEY) || '';
}

function isReadApi(input) {
  const url = new URL(input instanceof Request ? input.url : String(input), location.href);
  return url.origin === location.origin && url.pathname.startsWith('/v1/');
}

// A URL for EventSource: the token as a query parameter.
export function withToken(path) {
  const token = readToken();
  if (!token) return path;
  const url = new URL(path, location.href);
  url.searchParams.set('access_token', token);
  return url.pathname + url.search;
}

takeTokenFromUrl();
const plainFetch = window.fetch.bind(window);
window.fetch = (input, init = {}) => {
  const token = readToken();
  if (!token || !isReadApi(input)) return plainFetch(input, init);
  const headers = new Headers(init.headers || (input instanceof Request ? input.headers : undefined));
  headers.set('Authorization', `Bearer ${token}`);
  return plainFetch(input, { ...init, headers });
};
