// The plugin's side of go-plugin's AutoMTLS: a fresh self-signed certificate per process, like
// go-plugin's generateCert (mtls.go) but with an ECDSA P-256 key.

import { generateKeyPairSync, randomBytes, sign } from "node:crypto";

import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_kp_clientAuth,
  id_kp_serverAuth,
} from "@peculiar/asn1-x509";

/** SelfSigned is a certificate and its private key, both PEM, and the certificate's DER bytes. */
export interface SelfSigned {
  certPem: string;
  keyPem: string;
  certDer: Buffer;
}

const ecdsaWithSHA256 = "1.2.840.10045.4.3.2";
const commonName = "2.5.4.3";
const organization = "2.5.4.10";

function extension(id: string, critical: boolean, value: object): Extension {
  return new Extension({ extnID: id, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/**
 * selfSigned returns a certificate for "localhost" that is its own CA, valid from 30 seconds
 * ago for 30 years, for both server and client authentication: what go-plugin's host checks
 * (it trusts exactly this certificate, for the name localhost).
 */
export function selfSigned(now: Date = new Date()): SelfSigned {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f; // a positive INTEGER
  const name = new Name([
    new RelativeDistinguishedName([new AttributeTypeAndValue({ type: commonName, value: new AttributeValue({ utf8String: "localhost" }) })]),
    new RelativeDistinguishedName([new AttributeTypeAndValue({ type: organization, value: new AttributeValue({ utf8String: "Promogate plugin" }) })]),
  ]);
  const algorithm = new AlgorithmIdentifier({ algorithm: ecdsaWithSHA256 });
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: serial.buffer.slice(serial.byteOffset, serial.byteOffset + serial.length),
    signature: algorithm,
    issuer: name,
    subject: name,
    validity: new Validity({
      notBefore: new Date(now.getTime() - 30_000),
      notAfter: new Date(now.getTime() + 30 * 365 * 24 * 3600 * 1000),
    }),
    subjectPublicKeyInfo: AsnConvert.parse(publicKey.export({ type: "spki", format: "der" }), SubjectPublicKeyInfo),
    extensions: new Extensions([
      extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: true })),
      extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyCertSign)),
      extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth, id_kp_clientAuth])),
      extension(id_ce_subjectAltName, false, new SubjectAlternativeName([new GeneralName({ dNSName: "localhost" })])),
    ]),
  });
  const signature = sign("sha256", Buffer.from(AsnConvert.serialize(tbs)), privateKey);
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: algorithm,
    signatureValue: signature.buffer.slice(signature.byteOffset, signature.byteOffset + signature.length),
  });
  const certDer = Buffer.from(AsnConvert.serialize(cert));
  const b64 = certDer.toString("base64").replace(/(.{64})/g, "$1\n");
  return {
    certPem: `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith("\n") ? "" : "\n"}-----END CERTIFICATE-----\n`,
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    certDer,
  };
}
