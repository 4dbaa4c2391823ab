// Why a check can get no answer on a direct-routing director: the source address Linux gives it. With an
// IPv6 VIP as a /128 on the interface facing the real servers (a one-armed director), source address
// selection prefers it to the director's own /64 address (RFC 6724's longest matching prefix, counted up to
// each address's own prefix length); the real server holds the VIP itself (on lo, or behind its tunnel) and
// delivers its answer to itself, so the check times out. IPv4 picks the subnet's primary address, so the
// same layout works there. A timed-out check says so when its source was a virtual address.

import dgram from 'node:dgram';

/**
 * The source address Linux picks to reach address:port from this network namespace (as it would for the
 * check's TCP connection: the same route lookup and source selection), or undefined with no route. A
 * connected UDP socket sends nothing.
 */
export function routeSourceAddress(address: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let socket: dgram.Socket;
    try {
      socket = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
    } catch {
      resolve(undefined);
      return;
    }
    const done = (source: string | undefined): void => {
      try {
        socket.close();
      } catch {
        /* closed already */
      }
      resolve(source);
    };
    socket.on('error', () => done(undefined));
    try {
      socket.connect(port, address, (err?: Error) => {
        if (err) return done(undefined);
        try {
          done(socket.address().address);
        } catch {
          done(undefined);
        }
      });
    } catch {
      done(undefined);
    }
  });
}

/**
 * What is added to "no answer within N ms" when the check left from `source`, the virtual address of
 * `serviceId`: the cause and the remedy. `configured`: the source is the check's own localAddress.
 */
export function virtualSourceHint(source: string, serviceId: string, configured: boolean): string {
  const cause = `${configured ? `check.localAddress ${source}` : `the check left from ${source}`}, the virtual address of ${serviceId}: a direct-routing or tunnel real server holds that address itself and answers it locally`;
  if (configured) return `${cause}; set check.localAddress to another address of this director`;
  const v6 = source.includes(':') ? `, or give ${source} preferred_lft 0 on this director (Linux never picks a deprecated address as a source)` : '';
  return `${cause}; set check.localAddress to another address of this director${v6}`;
}
