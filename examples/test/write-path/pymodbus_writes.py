"""An independent Modbus TCP slave for the write-path tests: Debian's python3-pymodbus (3.0.x).

usage: pymodbus_writes.py PORT SPEC_JSON
SPEC_JSON: [{"address": N, "float32": X} | {"address": N, "uint16": X}, ...] (holding registers, slave 1)
Prints "write ADDRESS COUNT" for every write request the slave executes, so a test counts writes
at the device. Reads "lock ADDRESS" / "unlock ADDRESS" on stdin: writes touching a locked
address are answered with Modbus exception 2 (illegal data address); reads still work.
"""
import json
import struct
import sys
import threading

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server import StartTcpServer

WRITES = (5, 6, 15, 16)
locked = set()


class CountingSlave(ModbusSlaveContext):
    def validate(self, fc_as_hex, address, count=1):
        if fc_as_hex in WRITES and any(a in locked for a in range(address, address + count)):
            print(f"refused {address} {count}", flush=True)
            return False
        return super().validate(fc_as_hex, address, count)

    def setValues(self, fc_as_hex, address, values):
        if fc_as_hex in WRITES:
            print(f"write {address} {len(values)}", flush=True)
        super().setValues(fc_as_hex, address, values)


def words(item):
    if "float32" in item:
        raw = struct.pack(">f", item["float32"])
        return [struct.unpack(">H", raw[i:i + 2])[0] for i in range(0, 4, 2)]
    return [item["uint16"]]


def commands():
    for line in sys.stdin:
        parts = line.split()
        if len(parts) == 2 and parts[0] == "lock":
            locked.add(int(parts[1]))
        elif len(parts) == 2 and parts[0] == "unlock":
            locked.discard(int(parts[1]))
        print(f"ok {line.strip()}", flush=True)


def main():
    port, spec = int(sys.argv[1]), json.loads(sys.argv[2])
    hr = ModbusSequentialDataBlock(0, [0] * 200)
    for item in spec:
        hr.setValues(item["address"], words(item))
    empty = ModbusSequentialDataBlock(0, [0] * 200)
    slave = CountingSlave(di=empty, co=empty, hr=hr, ir=empty, zero_mode=True)
    threading.Thread(target=commands, daemon=True).start()
    print("starting", flush=True)
    StartTcpServer(context=ModbusServerContext(slaves={1: slave}, single=False),
                   address=("127.0.0.1", port), allow_reuse_address=True)


if __name__ == "__main__":
    main()
