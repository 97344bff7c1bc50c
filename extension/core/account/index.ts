// Public API of accounts: handles, signing keys, the signed record, and one directory request.
export { DEFAULT_DIRECTORY_PORT, foldHandle, formatAccountAddress, HANDLE_RULE, isCanonicalHandle, parseAccountAddress, parseHandle, type AccountAddress } from './handle';
export { generateSigningKey, sign, signingKeyFromSeed, verify, type SigningKeyPair } from './signing';
export {
  decodeRecord,
  displayNameError,
  encodeRotation,
  newRequestToken,
  signDeletion,
  signRecord,
  signRotation,
  verifyRecord,
  REQUEST_TOKEN_BYTES,
  type AccountDeletion,
  type AccountFields,
  type AccountRecord,
  type AccountRotation,
  type RecordExpectations,
} from './record';
export { DirectoryRequest, type DirectoryOp, type DirectoryOutcome, type DirectoryRequestOptions } from './directoryClient';
