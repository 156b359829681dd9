// The part of @authenio/xml-encryption (a samlify dependency, untyped) the SP uses.
declare module '@authenio/xml-encryption' {
  export function decrypt(
    xml: string,
    options: { key: string | Buffer; disallowDecryptionWithInsecureAlgorithm?: boolean; warnInsecureAlgorithm?: boolean },
    callback: (err: Error | null, result?: string) => void,
  ): void;
}
