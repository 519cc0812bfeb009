"""The file token cache on a machine shared with other users (real HTTP to the emulator).

Whatever stands where the cache file or its lock goes, the listing succeeds: the task keeps its
token to itself after one warning, never follows a planted link and never fails for its cache.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook


@pytest.fixture
def cache(oauth_emulator, tmp_path) -> Path:
    """The token file one hook leaves behind, in the directory every later hook reads."""
    assert ZohoInvoiceOAuthHook().validate_token()
    (path,) = (tmp_path / "tokens").glob("*.json")
    return path


def list_fifty() -> int:
    return len(list(ZohoInvoiceOAuthHook().list_records("invoices", max_records=50)))


def test_a_directory_where_the_cache_file_goes(oauth_emulator, cache, capfd):
    cache.unlink()
    cache.mkdir()
    refreshes = oauth_emulator.accounts.oauth.refreshes
    assert list_fifty() == 50
    assert oauth_emulator.accounts.oauth.refreshes == refreshes + 1  # one token for the task, no more
    err = capfd.readouterr()
    logged = err.out + err.err
    assert logged.count("Zoho token cache not used: a directory stands where the token file goes") == 1
    assert cache.is_dir()


def test_a_link_planted_at_the_cache_file_is_not_followed(oauth_emulator, cache, tmp_path, capfd):
    planted = tmp_path / "elsewhere.json"
    shutil.move(cache, planted)  # a valid token: reading through the link would spend no refresh
    planted_text = planted.read_text()
    cache.symlink_to(planted)
    refreshes = oauth_emulator.accounts.oauth.refreshes
    assert list_fifty() == 50
    assert oauth_emulator.accounts.oauth.refreshes == refreshes + 1
    assert planted.read_text() == planted_text  # the link's target is neither read nor written
    logged = "".join(capfd.readouterr())
    assert logged.count("Zoho token cache not used: the token file is a symbolic link") == 1


def test_a_link_planted_at_the_lock_file_is_not_followed(oauth_emulator, cache, tmp_path, capfd):
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    cache.unlink()
    lock = cache.with_suffix(".lock")
    lock.unlink(missing_ok=True)
    lock.symlink_to(victim)
    assert list_fifty() == 50
    assert victim.read_text() == "keep me"
    logged = "".join(capfd.readouterr())
    assert "Zoho token cache not used: the lock file is a symbolic link" in logged


def test_loose_permissions_are_tightened_with_one_warning(oauth_emulator, cache, capfd):
    os.chmod(cache.parent, 0o755)  # noqa: S103 - the loose mode under test
    os.chmod(cache, 0o644)
    refreshes = oauth_emulator.accounts.oauth.refreshes
    assert list_fifty() == 50
    assert list_fifty() == 50
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert oauth_emulator.accounts.oauth.refreshes == refreshes  # the cached token is still used
    logged = "".join(capfd.readouterr())
    assert logged.count("Zoho token cache directory had permissions 0o755") == 1
    assert logged.count("Zoho token cache token file had permissions 0o644") == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="handing a directory to another user needs root")
def test_a_cache_directory_owned_by_another_user_is_not_used(oauth_emulator, cache, capfd):
    os.chown(cache.parent, 65534, 65534)
    refreshes = oauth_emulator.accounts.oauth.refreshes
    assert list_fifty() == 50
    assert oauth_emulator.accounts.oauth.refreshes == refreshes + 1
    logged = "".join(capfd.readouterr())
    assert "Zoho token cache not used: its directory belongs to another user" in logged


def test_a_token_cached_under_one_client_secret_does_not_vouch_for_another(
    oauth_emulator, use_oauth_emulator, cache
):
    """Same Client ID and refresh token, wrong secret: the cache key differs, so Zoho is asked."""
    use_oauth_emulator(oauth_emulator, conn_id="wrong_secret", client_secret="not-the-client-secret")
    assert not ZohoInvoiceOAuthHook("wrong_secret").validate_token()
    assert ZohoInvoiceOAuthHook().validate_token()  # the right one still uses its cached token
