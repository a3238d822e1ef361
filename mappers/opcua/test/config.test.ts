/** configData schemas: defaults, refusals that name the field, and the cross-field checks. */
import { describe, expect, it } from 'vitest';
import { parseWithSchema } from '@edgetwin/sdk';
import { OpcuaProtocolConfigSchema, OpcuaVisitorConfigSchema, resolveSecurity } from '@edgetwin/mapper-opcua';

describe('configData', () => {
  it('a bare url gets the defaults: no security, 10 s timeout, 5 s keep-alive', () => {
    const cfg = parseWithSchema(OpcuaProtocolConfigSchema, { url: 'opc.tcp://plc:4840' }, 'protocol');
    expect(cfg).toEqual({ url: 'opc.tcp://plc:4840', securityMode: 'None', timeoutMs: 10_000, keepAliveMs: 5_000 });
    expect(resolveSecurity('default/x', cfg)).toEqual({ mode: 'None', policy: 'None' });
  });

  it('Sign without a policy means Basic256Sha256', () => {
    const cfg = parseWithSchema(OpcuaProtocolConfigSchema, { url: 'opc.tcp://plc:4840', securityMode: 'Sign' }, 'p');
    expect(resolveSecurity('default/x', cfg)).toEqual({ mode: 'Sign', policy: 'Basic256Sha256' });
  });

  it('a misspelt field and an unknown policy are refused naming the field', () => {
    expect(() =>
      parseWithSchema(OpcuaProtocolConfigSchema, { url: 'opc.tcp://plc', securityPolicy: 'Basic128Rsa15' }, 'p'),
    ).toThrow(/securityPolicy/);
    expect(() => parseWithSchema(OpcuaProtocolConfigSchema, { url: 'opc.tcp://plc', passwort: 'x' }, 'p')).toThrow(
      /passwort/,
    );
    expect(() => parseWithSchema(OpcuaProtocolConfigSchema, { url: 'http://plc' }, 'p')).toThrow(/url/);
  });

  it('a password source without a user, and a user without a password source, are config errors', () => {
    const base = { url: 'opc.tcp://plc', securityMode: 'Sign' as const, timeoutMs: 1000, keepAliveMs: 1000 };
    expect(() => resolveSecurity('default/x', { ...base, passwordEnv: 'P' })).toThrow(/userName/);
    expect(() => resolveSecurity('default/x', { ...base, userName: 'op' })).toThrow(/passwordFile or passwordEnv/);
    expect(() => resolveSecurity('default/x', { ...base, certificateFile: '/c.pem' })).toThrow(/privateKeyFile/);
  });

  it('a visitor defaults to a subscription without deadband and refuses unknown collect modes', () => {
    expect(parseWithSchema(OpcuaVisitorConfigSchema, { nodeID: 'ns=2;i=5' }, 'v')).toEqual({
      nodeID: 'ns=2;i=5',
      collect: 'subscribe',
      deadbandType: 'None',
      deadbandValue: 0,
    });
    expect(() => parseWithSchema(OpcuaVisitorConfigSchema, { nodeID: 'ns=2;i=5', collect: 'often' }, 'v')).toThrow(
      /collect/,
    );
  });
});
