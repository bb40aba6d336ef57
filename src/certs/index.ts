/** The programmatic API of `certs`: make a cluster CA and node certificates, describe certificates. */
export { createCa, type CreateCaOptions, type CreatedCa } from './createCa.js';
export { createNodeCert, type CreateNodeCertOptions, type CreatedNodeCert } from './createNodeCert.js';
export {
  describeCertificate,
  parseCertificates,
  readCertificateFile,
  type CertificateInfo,
} from './inspect.js';
export { DEFAULT_KEY_TYPE, KEY_TYPES, type KeyType } from './keyType.js';
export { DEFAULT_CA_DAYS, DEFAULT_NODE_DAYS } from './x509.js';
export { loadCa, type LoadedCa } from './loadCa.js';
export { formatCertificate, validityState } from './report.js';
