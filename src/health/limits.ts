// How much of an HTTP response a check reads: the headers (Node's own default is 16 KiB, which a healthy
// application with a large Content-Security-Policy or cookies can exceed) and the part of the body a
// `body` rule is matched against. Both bounded, so a server sending endless data costs little.

export const HTTP_HEADER_LIMIT = 64 * 1024;
export const HTTP_BODY_LIMIT = 64 * 1024;
