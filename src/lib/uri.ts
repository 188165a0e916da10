// Connection URIs from Secrets and the environment. `new URL` accepts a
// malformed percent escape ("%zz", a lone "%"), and the client libraries
// then throw a URIError from decodeURIComponent, far from where the URI came
// from; checking here refuses such a URI at once.

/** Whether decoding the text's percent escapes fails, as it would in pg or ioredis. */
export function hasMalformedEscape(text: string): boolean {
  try {
    decodeURIComponent(text);
    return false;
  } catch {
    return true;
  }
}

/** The parsed URI, or undefined when it is no URI or has a malformed percent escape. */
export function parseConnectionUri(uri: string): URL | undefined {
  if (hasMalformedEscape(uri)) return undefined;
  try {
    return new URL(uri);
  } catch {
    return undefined;
  }
}
