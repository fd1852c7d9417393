/** `host:port` or `https://host:port` as a dial target. */
export function parseEndpoint(endpoint: string): { host: string; port: number } | undefined {
  if (endpoint === '') return undefined;
  const url = new URL(endpoint.includes('://') ? endpoint : `https://${endpoint}`);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 443) };
}
