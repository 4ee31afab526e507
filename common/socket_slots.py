"""Open live feeds per address, counted across every web process.

With Redis (several web processes), each address has a hash in Redis with one field per process,
changed by atomic scripts: a socket takes a slot only if the sum over all processes stays within
WEBSOCKETS_MAX_PER_ADDRESS. A process that dies without closing its sockets leaves its field behind
until the hash expires (an hour after the address last connected), which only lowers that
address's room for a while; the default is far above what a venue needs. Without Redis (the demo:
one process) a counter in the process does the same. If Redis cannot be reached the socket is
admitted and counted in the process only: a live feed is not worth refusing a buyer for.
"""

import asyncio
import logging
import uuid
import weakref
from collections import Counter

from django.conf import settings
from redis.asyncio import Redis

log = logging.getLogger(__name__)

_PROCESS = uuid.uuid4().hex[:16]
_EXPIRE_SECONDS = 3600
_in_process: Counter = Counter()
_clients: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

_TAKE = """
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
local total = 0
for _, n in ipairs(redis.call('HVALS', KEYS[1])) do total = total + tonumber(n) end
if total > tonumber(ARGV[2]) then
  redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
  return 0
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""
_GIVE_BACK = """
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1
"""


async def slot_take(address: str) -> bool:
    """Count one more open socket for `address`; False (nothing counted) when it has no room left."""
    cap = settings.WEBSOCKETS_MAX_PER_ADDRESS
    redis = _redis()
    if redis is not None:
        try:
            taken = await redis.eval(_TAKE, 1, _key(address), _PROCESS, cap, _EXPIRE_SECONDS)
        except Exception as exc:  # noqa: BLE001 - any Redis failure: admit, counted here only
            log.warning("Counting open sockets in Redis failed (%s): counted in this process only", exc)
        else:
            if taken:
                _in_process[("redis", address)] += 1
            return bool(taken)
    if _in_process[address] >= cap:
        return False
    _in_process[address] += 1
    return True


async def slot_give_back(address: str) -> None:
    if _in_process[("redis", address)] > 0:
        _give_back_here(("redis", address))
        try:
            await _redis().eval(_GIVE_BACK, 1, _key(address), _PROCESS)
        except Exception as exc:  # noqa: BLE001 - the hash expires by itself
            log.warning("Giving back a socket's slot in Redis failed (%s)", exc)
        return
    _give_back_here(address)


def _give_back_here(key) -> None:
    _in_process[key] -= 1
    if _in_process[key] <= 0:
        del _in_process[key]


def _key(address: str) -> str:
    return settings.WEBSOCKETS_COUNT_PREFIX + address


def _redis():
    """One client per event loop (redis.asyncio connections belong to the loop that made them)."""
    if not getattr(settings, "WEBSOCKETS_COUNT_PREFIX", ""):
        return None
    loop = asyncio.get_running_loop()
    if loop not in _clients:
        _clients[loop] = Redis.from_url(settings.REDIS_URL, socket_timeout=5)
    return _clients[loop]
