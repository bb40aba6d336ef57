// The stand-in mysqld lives in src/demo (the demo uses it too); tests import it from here.
export * from '../../src/demo/contractDriver.js';
