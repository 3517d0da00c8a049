#!/bin/sh
# Run on a lab host by tests/placement.sh: count the zfs sends and receives running here (not
# the -n dry runs) ten times a second until /root/sends.stop exists, one "epoch count" line per
# sample that saw any, in /root/sends.log.
rm -f /root/sends.log /root/sends.stop
while [ ! -e /root/sends.stop ]; do
  n=$(ps -eo comm=,args= | awk '$1 == "zfs" && ($3 == "send" || $3 == "receive") && !/ -n/' | wc -l)
  [ "$n" -gt 0 ] && echo "$(date +%s.%N) $n" >> /root/sends.log
  sleep 0.1
done
