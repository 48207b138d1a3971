"""A private key encrypted with a passphrase is refused with one clear line and exit 2,
never by waiting at OpenSSL's "Enter PEM pass phrase:" prompt (a server started from a
terminal would hang there forever)."""
import os
import pty
import subprocess
import tempfile
import unittest

from harness import BIN, free_port, make_cert


class EncryptedKey(unittest.TestCase):
    def test_an_encrypted_key_is_refused_without_a_prompt(self):
        with tempfile.TemporaryDirectory(prefix="tlsresume-enckey-") as tmp:
            cert, key = make_cert(tmp, "site", "site.test")
            encrypted = os.path.join(tmp, "encrypted.key")
            subprocess.run(["openssl", "pkey", "-in", key, "-out", encrypted, "-aes256", "-passout", "pass:secret"],
                           check=True, capture_output=True, timeout=30)
            # A terminal on standard input: where OpenSSL's prompt would read the passphrase.
            controller, terminal = pty.openpty()
            try:
                p = subprocess.run([BIN, "serve", "--listen", f"127.0.0.1:{free_port()}", "--admin", "off",
                                    "--cert", cert, "--key", encrypted],
                                   stdin=terminal, capture_output=True, text=True, timeout=20)
            except subprocess.TimeoutExpired:
                self.fail("serve waited for a passphrase instead of refusing the key")
            finally:
                os.close(terminal)
                os.close(controller)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertNotIn("pass phrase", p.stderr)
        self.assertIn(f"key {encrypted} is encrypted", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)


if __name__ == "__main__":
    unittest.main()
