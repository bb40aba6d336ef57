import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { parseSockopt } from '../../../src/config/sockopt.js';

describe('parseSockopt()', () => {
  it('gives no settings for an absent or empty value', () => {
    expect(parseSockopt(undefined)).toEqual({ notices: [], insecure: [] });
    expect(parseSockopt('  ,, ')).toEqual({ notices: [], insecure: [] });
  });

  it('reads the tokens deployments use, with the leading comma of the original script', () => {
    expect(
      parseSockopt(
        ',cipher=ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384,commonname=db1.example,pf=ip6',
      ),
    ).toEqual({
      cipher: 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384',
      commonname: 'db1.example',
      family: 6,
      notices: [],
      insecure: [],
    });
  });

  it.each([
    ['verify', true],
    ['verify=1', true],
    ['verify=2', true],
    ['verify=0x1', true],
    ['verify=0', false],
    ['verify=00', false],
    ['VERIFY=0', false],
    ['openssl-verify=0', false],
  ])('reads %s like socat (numbers, any case, aliases)', (token, verify) => {
    expect(parseSockopt(token).verify).toBe(verify);
  });

  it('lists verify=0 as insecure', () => {
    expect(parseSockopt(',verify=0').insecure).toEqual(['verify=0']);
    expect(parseSockopt('verify=1').insecure).toEqual([]);
  });

  it('accepts yes/no/true/false/on/off with a notice that socat would reject them', () => {
    const parsed = parseSockopt('verify=no');
    expect(parsed.verify).toBe(false);
    expect(parsed.notices).toEqual([
      'sockopt "verify=no" is read as 0; socat 1.7.4 accepts only numbers here, so a peer running the original script would reject it',
    ]);
    expect(parseSockopt('no-sni=True').noSni).toBe(true);
  });

  it('rejects a boolean that is neither a number nor a known word, naming the token', () => {
    expect(() => parseSockopt('verify=maybe')).toThrow(ConfigError);
    expect(() => parseSockopt('verify=maybe')).toThrow(
      'Cannot parse sockopt: "verify=maybe" expected a number (0 or 1)',
    );
    expect(() => parseSockopt('verify=')).toThrow('"verify=" expected a number (0 or 1)');
    expect(() => parseSockopt('verify=08')).toThrow('"verify=08" expected a number (0 or 1)');
  });

  it('knows socat aliases: cn, ciphers, cipherlist, nosni, protocol-family, openssl- forms', () => {
    expect(
      parseSockopt('cn=a,ciphers=HIGH,nosni,protocol-family=inet,openssl-snihost=s,openssl-capath=/ca'),
    ).toEqual({
      commonname: 'a',
      cipher: 'HIGH',
      noSni: true,
      family: 4,
      snihost: 's',
      capath: '/ca',
      notices: [],
      insecure: [],
    });
  });

  it.each([
    ['pf=ip4', 4],
    ['pf=ipv4', 4],
    ['pf=inet4', 4],
    ['pf=IP6', 6],
    ['pf=ipv6', 6],
    ['pf=inet6', 6],
  ])('reads %s', (token, family) => {
    expect(parseSockopt(token).family).toBe(family);
  });

  it('rejects another protocol family', () => {
    expect(() => parseSockopt('pf=unix')).toThrow('"pf=unix" expected "ip4" or "ip6"');
    expect(() => parseSockopt('pf=6')).toThrow('"pf=6" expected "ip4" or "ip6"');
  });

  it('honours a minimum of TLS1.2 or TLS1.3 and raises anything lower with a notice', () => {
    expect(parseSockopt('min-proto-version=TLS1.2')).toEqual({
      minVersion: 'TLSv1.2',
      notices: [],
      insecure: [],
    });
    expect(parseSockopt('min-version=tlsv1.3').minVersion).toBe('TLSv1.3');
    expect(parseSockopt('openssl-min-proto-version=TLS1.3').minVersion).toBe('TLSv1.3');
    const low = parseSockopt('min-version=TLS1.1');
    expect(low.minVersion).toBeUndefined();
    expect(low.notices).toEqual([
      'sockopt "min-version=TLS1.1" is raised to TLS1.2: this SST never accepts an older protocol',
    ]);
    expect(parseSockopt('min-version=SSL3').notices).toHaveLength(1);
    expect(() => parseSockopt('min-version=TLS2')).toThrow(
      '"min-version=TLS2" expected SSL2, SSL3, TLS1, TLS1.1, TLS1.2 or TLS1.3',
    );
  });

  it('ignores method, max-version, dhparam, retry and unknown options with one notice each', () => {
    const parsed = parseSockopt(
      'method=TLS1.2,max-version=TLS1.2,dhparam=/etc/dh.pem,retry=3,keepalive,fips',
    );
    expect(parsed.notices).toEqual([
      'sockopt "method=TLS1.2" is ignored: use "min-version" (socat 1.7.4 on Debian has no "method" either)',
      'sockopt "max-version=TLS1.2" is ignored: the peers negotiate the highest version both support (TLS 1.2 or 1.3)',
      'sockopt "dhparam=/etc/dh.pem" is ignored: only ECDHE key exchange is used, so no DH parameters are needed',
      'sockopt "retry=3" is ignored: socat\'s retry options do not apply to this tunnel',
      'sockopt "keepalive" is ignored: not a socat OpenSSL option this SST method knows',
      'sockopt "fips" is ignored: it has no counterpart in node:tls',
    ]);
    expect(parsed.insecure).toEqual([]);
  });

  it('keeps cafile, cert and key for settings to reconcile with [sst]', () => {
    expect(parseSockopt('cafile=/ca.pem,cert=/c.pem,key=/k.pem')).toMatchObject({
      cafile: '/ca.pem',
      cert: '/c.pem',
      key: '/k.pem',
    });
  });

  it('lexes like socat: quotes removed and protecting commas, backslash escapes, nesting', () => {
    expect(parseSockopt('commonname="a,b",snihost=\'x\'').commonname).toBe('a,b');
    expect(parseSockopt('commonname=a\\,b').commonname).toBe('a,b');
    expect(parseSockopt('cipher=[HIGH,MEDIUM]').cipher).toBe('[HIGH,MEDIUM]');
    expect(() => parseSockopt('cipher="HIGH')).toThrow('unterminated " quote in "cipher="HIGH"');
    expect(() => parseSockopt('cipher=(HIGH')).toThrow('missing ")" in "cipher=(HIGH"');
  });

  it('needs a value for string options', () => {
    expect(() => parseSockopt('commonname=')).toThrow(
      '"commonname=" expected the name the peer certificate must match',
    );
    expect(() => parseSockopt('cipher')).toThrow('"cipher" expected an OpenSSL cipher list');
  });

  it('lets the last of repeated tokens win', () => {
    expect(parseSockopt('verify=0,verify=1')).toMatchObject({ verify: true, insecure: [] });
    expect(parseSockopt('verify=1,verify=0')).toMatchObject({ verify: false, insecure: ['verify=0'] });
  });
});
