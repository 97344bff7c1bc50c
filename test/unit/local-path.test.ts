import assert from 'node:assert/strict';
import { isLocalAddress } from '../../extension/core/link/localPath';

describe('isLocalAddress (which paths may try 64 KiB datagrams)', () => {
  for (const a of ['127.0.0.1', '127.9.9.9', '10.0.0.2', '172.16.0.1', '172.31.255.255', '192.168.1.20', '169.254.3.4', '::1', 'fd00::1', 'fc12:3::4', 'fe80::1', '::ffff:192.168.0.5', '::FFFF:10.1.2.3']) {
    it(`${a} is local`, () => assert.equal(isLocalAddress(a), true));
  }
  for (const a of ['203.0.113.1', '8.8.8.8', '172.32.0.1', '172.15.0.1', '100.64.0.1', '192.169.0.1', '2001:db8::1', '::ffff:8.8.8.8', 'not an address', '']) {
    it(`${JSON.stringify(a)} is not`, () => assert.equal(isLocalAddress(a), false));
  }
});
