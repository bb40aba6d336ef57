/**
 * @peculiar/x509, ready to use: the Reflect metadata polyfill tsyringe needs (reflect-metadata) is loaded first (ES modules evaluate their imports
 * in order) and its crypto provider is Node's WebCrypto. Import the library from here, never directly.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// The library signs and hashes through this provider; Node 20's webcrypto is a complete implementation.
x509.cryptoProvider.set(webcrypto);

export * from '@peculiar/x509';
