"""Stand-in for the get-pip.py that ansible-test downloads to bootstrap pip in its venvs.

ansible-test fetches that script from a host this project's machines cannot reach. It runs
the script as __main__ with pip-install arguments (the pinned pip, setuptools, ...), so this
does the same with what Python ships: ensurepip's bundled pip, then pip install from PyPI.
tests/sanity.sh copies it to ~/.ansible/test/cache/get_pip_<version>.py.
"""
import ensurepip
import os
import ssl
import subprocess
import sys

# get-pip's own flags: we install neither setuptools nor wheel unless they are asked for.
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
ensurepip.bootstrap(upgrade=True)
# ensurepip's older pip trusts only certifi's CAs; pip >= 24.2 trusts the system store. Give
# the bootstrap pip the system bundle too, so both trust the same authorities.
cafile = ssl.get_default_verify_paths().openssl_cafile
if os.path.exists(cafile) and "PIP_CERT" not in os.environ:
    args = ["--cert", cafile] + args
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
