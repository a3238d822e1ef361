"""An independent Modbus slave for the tests: Debian's python3-pymodbus (3.0.x API).

usage: pymodbus_slave.py (--tcp PORT | --serial PATH) SPEC_JSON
SPEC_JSON: {"<slave id>": [{"table": "hr"|"ir"|"co"|"di", "address": N, "type": "int16"|...|"raw",
            "value": ..., "isSwap": bool, "isRegisterSwap": bool, "length": N}, ...]}
Values are packed here with Python's struct, independently of the mapper's codec.
"""
import json
import logging
import os
import struct
import sys

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server import StartSerialServer, StartTcpServer
from pymodbus.transaction import ModbusRtuFramer

FORMATS = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "int64": ">q",
           "uint64": ">Q", "float32": ">f", "float64": ">d"}


def registers(item):
    t = item.get("type", "uint16")
    if t == "raw":
        return list(item["value"])
    if t == "string":
        raw = item["value"].encode("utf-8").ljust(item["length"] * 2, b"\0")
    else:
        raw = struct.pack(FORMATS[t], item["value"])
    if item.get("isSwap"):
        raw = b"".join(raw[i + 1:i + 2] + raw[i:i + 1] for i in range(0, len(raw), 2))
    words = [struct.unpack(">H", raw[i:i + 2])[0] for i in range(0, len(raw), 2)]
    if item.get("isRegisterSwap"):
        words.reverse()
    return words


def slave_context(items):
    blocks = {k: ModbusSequentialDataBlock(0, [0] * 1000) for k in ("hr", "ir", "co", "di")}
    for item in items:
        block = blocks[item["table"]]
        if item["table"] in ("co", "di"):
            block.setValues(item["address"], [bool(item["value"])])
        else:
            block.setValues(item["address"], registers(item))
    return ModbusSlaveContext(di=blocks["di"], co=blocks["co"], hr=blocks["hr"], ir=blocks["ir"], zero_mode=True)


def main():
    if os.environ.get("PYMODBUS_DEBUG"):
        logging.basicConfig(level=logging.DEBUG)
    mode, where, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    slaves = {int(k): slave_context(v) for k, v in spec.items()}
    context = ModbusServerContext(slaves=slaves, single=False)
    print("starting", flush=True)
    if mode == "--tcp":
        StartTcpServer(context=context, address=("127.0.0.1", int(where)), allow_reuse_address=True)
    else:
        StartSerialServer(context=context, framer=ModbusRtuFramer, port=where, baudrate=19200,
                          parity="N", stopbits=1, bytesize=8, timeout=0.005)


if __name__ == "__main__":
    main()
