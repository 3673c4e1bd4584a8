/* A stand-in for Windows' bcryptprimitives.dll, for Wine test prefixes only; never shipped.
 *
 * Rust 1.78+ imports ProcessPrng from bcryptprimitives.dll (Windows 10 and later have it);
 * Debian 12's Wine 8.0 lacks that DLL, so no Rust program starts under it
 * (rust-lang/rust#121337). mozilla/glean#2823 took the same way out: a DLL with that one
 * export, over BCryptGenRandom, which Wine implements. */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
