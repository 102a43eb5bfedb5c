"""Signs the fixed SAML test vectors with signxml and xmlsec1 (implementations independent of
Homeport's), and checks each with xmlsec1.

Run once: python3 make_vectors.py (needs `pip install signxml` and `apt-get install xmlsec1`).
The key is a test key only.
"""
import base64, datetime, os
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner, SignatureConstructionMethod


class LegacySigner(XMLSigner):
    """SHA-1, which AWS still accepts from identity providers."""

    def check_deprecated_methods(self):
        pass


key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp.example.com")])
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(datetime.datetime(2026, 1, 1))
        .not_valid_after(datetime.datetime(2046, 1, 1)).sign(key, hashes.SHA256()))
key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
cert_pem = cert.public_bytes(serialization.Encoding.PEM)
cert_b64 = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
open("idp-key.pem", "wb").write(key_pem)
open("idp-cert.pem", "wb").write(cert_pem)
open("metadata.xml", "w").write(f'''<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/saml">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{cert_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
''')

ACCOUNT = "123456789012"
def response(comment):
    c = "<!-- a comment -->" if comment else ""
    return f'''<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_resp1" Version="2.0" IssueInstant="2026-06-01T12:00:00Z" Destination="https://signin.aws.amazon.com/saml"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">https://idp.example.com/saml</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="_assert1" Version="2.0" IssueInstant="2026-06-01T12:00:00Z">
  <saml:Issuer>https://idp.example.com/saml</saml:Issuer>{c}
  <saml:Subject>
    <saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">alice &amp; &lt;co&gt;</saml:NameID>
    <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="2026-06-01T12:05:00Z" Recipient="https://signin.aws.amazon.com/saml"/></saml:SubjectConfirmation>
  </saml:Subject>
  <saml:Conditions NotBefore="2026-06-01T11:59:00Z" NotOnOrAfter="2026-06-01T12:05:00Z"><saml:AudienceRestriction><saml:Audience>https://signin.aws.amazon.com/saml</saml:Audience></saml:AudienceRestriction></saml:Conditions>
  <saml:AttributeStatement>
    <saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role"><saml:AttributeValue xsi:type="xs:string">arn:aws:iam::{ACCOUNT}:role/Admin,arn:aws:iam::{ACCOUNT}:saml-provider/ExampleIdP</saml:AttributeValue></saml:Attribute>
    <saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName"><saml:AttributeValue xsi:type="xs:string">alice</saml:AttributeValue></saml:Attribute>
  </saml:AttributeStatement>
</saml:Assertion></samlp:Response>'''

ns = {"saml": "urn:oasis:names:tc:SAML:2.0:assertion"}
# 1: the assertion signed, RSA-SHA256, SHA-256, exc-c14n.
root = etree.fromstring(response(False).encode())
assertion = root.find("saml:Assertion", ns)
signed = XMLSigner(method=SignatureConstructionMethod.enveloped, signature_algorithm="rsa-sha256",
                   digest_algorithm="sha256", c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#").sign(
    assertion, key=key_pem, cert=cert_pem.decode(), reference_uri="_assert1")
root.replace(assertion, signed)
open("response-assertion-signed.xml", "wb").write(etree.tostring(root))
# 2: the response signed, RSA-SHA1, SHA-1, exc-c14n with comments. No comment in the signed
# part: a bare-name reference (`#_resp1`) drops comments (XMLDSig 4.3.3.3, as xmlsec and Apache
# Santuario do) while signxml keeps them, so the two would disagree on the digest.
root = etree.fromstring(response(False).encode())
signed = LegacySigner(method=SignatureConstructionMethod.enveloped, signature_algorithm="rsa-sha1",
                   digest_algorithm="sha1", c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#WithComments").sign(
    root, key=key_pem, cert=cert_pem.decode(), reference_uri="_resp1")
open("response-signed.xml", "wb").write(etree.tostring(signed))
# 3: as ADFS writes it, the assertion in the default namespace, and as Okta signs, with an
# InclusiveNamespaces prefix list naming `xs` (used only inside xsi:type's value), signed by
# xmlsec1 (libxmlsec1: signxml writes the list only into CanonicalizationMethod yet applies it
# to the Reference too, which conforming verifiers refuse).
import subprocess
adfs = response(False)
at = adfs.index("<saml:Assertion")
adfs = adfs[:at] + adfs[at:].replace("saml:", "").replace('xmlns:saml="urn', 'xmlns="urn')
EXC = "http://www.w3.org/2001/10/xml-exc-c14n#"
template = f'''<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{EXC}"><ec:InclusiveNamespaces xmlns:ec="{EXC}" PrefixList="xs"/></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#_assert1"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="{EXC}"><ec:InclusiveNamespaces xmlns:ec="{EXC}" PrefixList="xs"/></ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue></ds:Signature>'''
adfs = adfs.replace("</Issuer>", "</Issuer>" + template, 1)
open("template.xml", "w").write(adfs)
ID = ["--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
      "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response"]
subprocess.run(["xmlsec1", "--sign", "--privkey-pem", "idp-key.pem", *ID,
                "--output", "response-default-namespace.xml", "template.xml"], check=True)
os.remove("template.xml")
# Each vector verifies with xmlsec1 as well.
for vector in ["response-assertion-signed.xml", "response-signed.xml", "response-default-namespace.xml"]:
    subprocess.run(["xmlsec1", "--verify", "--pubkey-cert-pem", "idp-cert.pem", *ID, vector], check=True)
