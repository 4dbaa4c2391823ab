// The netlink core: wire constants, the writer and reader, the request engine and family resolution.
// It knows netlink and generic netlink, nothing of IPVS.
export * from './constants.js';
export * from './errors.js';
export * from './reader.js';
export * from './writer.js';
export * from './transport.js';
export * from './connection.js';
export * from './family.js';
