// The smallest STUN Binding responder a Node dgram socket allows: the ceiling for any Node server.
// No validation beyond the type and cookie, no rate limit, no allocation but the reply.
// Prints {"port": n} once listening.
import * as dgram from 'node:dgram';

const COOKIE = 0x2112a442;
const sock = dgram.createSocket('udp4');
sock.on('message', (m, r) => {
  if (m.length < 20 || m[0] !== 0x00 || m[1] !== 0x01 || m.readUInt32BE(4) !== COOKIE) return;
  const out = Buffer.allocUnsafe(32);
  out.writeUInt16BE(0x0101, 0);
  out.writeUInt16BE(12, 2);
  m.copy(out, 4, 4, 20); // cookie + transaction id
  out.writeUInt16BE(0x0020, 20); // XOR-MAPPED-ADDRESS
  out.writeUInt16BE(8, 22);
  out.writeUInt16BE(0x0001, 24);
  out.writeUInt16BE(r.port ^ (COOKIE >>> 16), 26);
  const ip = r.address.split('.').map(Number);
  out.writeUInt32BE((((ip[0] << 24) | (ip[1] << 16) | (ip[2] << 8) | ip[3]) ^ COOKIE) >>> 0, 28);
  sock.send(out, r.port, r.address);
});
sock.bind(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  try {
    sock.setRecvBufferSize(4 * 1024 * 1024);
    sock.setSendBufferSize(4 * 1024 * 1024);
  } catch {
    // capped by rmem_max: fine
  }
  process.stdout.write(JSON.stringify({ port: sock.address().port }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
