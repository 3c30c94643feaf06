import { describe, expect, it } from 'vitest';
import { inSubnet, isLinkLocal, isLocalClient, isLoopback, parseIp, type InterfaceAddress } from '../../src/shared/net-address';

const bytes = (ip: string) => {
  const b = parseIp(ip);
  return b === undefined ? undefined : Array.from(b);
};

describe('parseIp', () => {
  it('parses IPv4 into 4 bytes', () => {
    expect(bytes('192.168.1.10')).toEqual([192, 168, 1, 10]);
    expect(bytes('0.0.0.0')).toEqual([0, 0, 0, 0]);
    expect(bytes('255.255.255.255')).toEqual([255, 255, 255, 255]);
    expect(bytes(' 10.0.0.1 ')).toEqual([10, 0, 0, 1]);
  });

  it('parses IPv6 into 16 bytes, with and without ::', () => {
    expect(bytes('::1')).toEqual([...Array<number>(15).fill(0), 1]);
    expect(bytes('::')).toEqual(Array<number>(16).fill(0));
    expect(bytes('2001:db8::8a2e:370:7334')).toEqual([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0x8a, 0x2e, 0x03, 0x70, 0x73, 0x34]);
    expect(bytes('2001:0db8:0000:0000:0000:8a2e:0370:7334')).toEqual(bytes('2001:db8::8a2e:370:7334'));
    expect(bytes('FE80::ABCD')).toEqual(bytes('fe80::abcd'));
    expect(bytes('1::')).toEqual([0, 1, ...Array<number>(14).fill(0)]);
    expect(bytes('1:2:3:4:5:6:7:8')).toEqual([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
  });

  it('parses IPv4-mapped and embedded IPv4 forms', () => {
    expect(bytes('::ffff:192.168.1.10')).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 10]);
    expect(bytes('::ffff:c0a8:010a')).toEqual(bytes('::ffff:192.168.1.10'));
    expect(bytes('64:ff9b::1.2.3.4')).toEqual([0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
  });

  it('drops a zone index', () => {
    expect(bytes('fe80::1%eth0')).toEqual(bytes('fe80::1'));
    expect(bytes('fe80::1%2')).toEqual([0xfe, 0x80, ...Array<number>(13).fill(0), 1]);
  });

  it.each([
    '',
    'localhost',
    '256.1.1.1',
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.-4',
    '1.2.3.4:80',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7::8:9',
    '12345::1',
    'g::1',
    '::ffff:300.1.1.1',
    '::ffff:1.2.3',
    '[::1]',
  ])('rejects %j', (input) => {
    expect(parseIp(input)).toBeUndefined();
  });
});

describe('isLoopback', () => {
  it.each(['127.0.0.1', '127.255.255.254', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])('%s is loopback', (a) => {
    expect(isLoopback(a)).toBe(true);
  });
  it.each(['128.0.0.1', '126.255.255.255', '10.0.0.1', '::', '::2', '::1:0', '1::1', 'fe80::1', '::ffff:10.0.0.1', 'localhost', ''])('%s is not loopback', (a) => {
    expect(isLoopback(a)).toBe(false);
  });
});

describe('isLinkLocal', () => {
  it.each(['169.254.0.1', '169.254.255.254', 'fe80::1', 'fe80::1%eth0', 'febf:ffff::1', '::ffff:169.254.3.4'])('%s is link-local', (a) => {
    expect(isLinkLocal(a)).toBe(true);
  });
  it.each(['169.253.255.255', '169.255.0.1', '170.254.0.1', 'fec0::1', 'fe7f::1', 'fd00::1', '::1', '127.0.0.1', 'nonsense'])('%s is not link-local', (a) => {
    expect(isLinkLocal(a)).toBe(false);
  });
});

describe('inSubnet', () => {
  it('compares IPv4 under the mask', () => {
    expect(inSubnet('192.168.1.77', '192.168.1.10', '255.255.255.0')).toBe(true);
    expect(inSubnet('192.168.1.255', '192.168.1.10', '255.255.255.0')).toBe(true);
    expect(inSubnet('192.168.2.1', '192.168.1.10', '255.255.255.0')).toBe(false);
    expect(inSubnet('10.1.200.3', '10.1.0.1', '255.255.0.0')).toBe(true);
    expect(inSubnet('10.2.0.3', '10.1.0.1', '255.255.0.0')).toBe(false);
    expect(inSubnet('10.0.0.9', '10.0.0.8', '255.255.255.252')).toBe(true);
    expect(inSubnet('10.0.0.12', '10.0.0.8', '255.255.255.252')).toBe(false);
    expect(inSubnet('10.0.0.8', '10.0.0.8', '255.255.255.255')).toBe(true);
    expect(inSubnet('10.0.0.9', '10.0.0.8', '255.255.255.255')).toBe(false);
  });

  it('treats an IPv4-mapped client address as IPv4', () => {
    expect(inSubnet('::ffff:192.168.1.77', '192.168.1.10', '255.255.255.0')).toBe(true);
    expect(inSubnet('::ffff:192.168.2.77', '192.168.1.10', '255.255.255.0')).toBe(false);
  });

  it('compares IPv6 under the mask', () => {
    expect(inSubnet('fd00:1::5', 'fd00:1::1', 'ffff:ffff:ffff:ffff::')).toBe(true);
    expect(inSubnet('fd00:1::abcd:5', 'fd00:1::1', 'ffff:ffff:ffff:ffff::')).toBe(true);
    expect(inSubnet('fd00:2::5', 'fd00:1::1', 'ffff:ffff:ffff:ffff::')).toBe(false);
    expect(inSubnet('2001:db8:0:1::5', '2001:db8::1', 'ffff:ffff:ffff:ffff::')).toBe(false);
  });

  it('is false across address families and for unparsable input', () => {
    expect(inSubnet('192.168.1.77', 'fd00::1', 'ffff:ffff:ffff:ffff::')).toBe(false);
    expect(inSubnet('fd00::5', '192.168.1.10', '255.255.255.0')).toBe(false);
    expect(inSubnet('192.168.1.77', '192.168.1.10', 'ffff:ffff:ffff:ffff::')).toBe(false);
    expect(inSubnet('bogus', '192.168.1.10', '255.255.255.0')).toBe(false);
    expect(inSubnet('192.168.1.77', '192.168.1.10', 'bogus')).toBe(false);
  });
});

describe('isLocalClient', () => {
  // Shaped like os.networkInterfaces() output on a typical camera.
  const home: InterfaceAddress[] = [
    { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4' },
    { address: '192.168.1.10', netmask: '255.255.255.0', family: 'IPv4' },
    { address: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', family: 'IPv6' },
    { address: 'fd12:3456:789a:1::10', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6' },
    { address: 'fe80::1c2d:3eff:fe4f:5a6b', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6' },
  ];
  const twoLans: InterfaceAddress[] = [
    { address: '10.0.0.2', netmask: '255.255.255.0', family: 'IPv4' },
    { address: '172.16.5.1', netmask: '255.255.0.0', family: 'IPv4' },
  ];

  it('accepts loopback and link-local whatever the interfaces', () => {
    for (const list of [home, twoLans, []]) {
      expect(isLocalClient('127.0.0.1', list)).toBe(true);
      expect(isLocalClient('::1', list)).toBe(true);
      expect(isLocalClient('::ffff:127.0.0.1', list)).toBe(true);
      expect(isLocalClient('169.254.10.20', list)).toBe(true);
      expect(isLocalClient('fe80::abcd%eth0', list)).toBe(true);
    }
  });

  it('accepts clients on one of the device subnets', () => {
    expect(isLocalClient('192.168.1.55', home)).toBe(true);
    expect(isLocalClient('::ffff:192.168.1.55', home)).toBe(true);
    expect(isLocalClient('fd12:3456:789a:1::99', home)).toBe(true);
    expect(isLocalClient('10.0.0.200', twoLans)).toBe(true);
    expect(isLocalClient('172.16.200.7', twoLans)).toBe(true);
  });

  it('refuses clients elsewhere', () => {
    expect(isLocalClient('192.168.2.55', home)).toBe(false);
    expect(isLocalClient('8.8.8.8', home)).toBe(false);
    expect(isLocalClient('fd12:3456:789a:2::99', home)).toBe(false);
    expect(isLocalClient('2001:db8::1', home)).toBe(false);
    expect(isLocalClient('10.0.1.200', twoLans)).toBe(false);
    expect(isLocalClient('172.17.0.1', twoLans)).toBe(false);
    expect(isLocalClient('192.168.1.55', twoLans)).toBe(false);
    expect(isLocalClient('192.168.1.55', [])).toBe(false);
    expect(isLocalClient('not an address', home)).toBe(false);
  });
});
