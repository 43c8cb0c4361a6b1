# Run by the base's /bin/sh (busybox): what the image's merged /usr looks like from inside.
echo "bin -> $(readlink /bin)"
echo "lib -> $(readlink /lib)"
test -f /usr/bin/entry.sh && echo /usr/bin/entry.sh
test -f /usr/lib/merged-usr/marker.txt && echo /usr/lib/merged-usr/marker.txt
test -x /usr/bin/busybox && echo "busybox kept"
echo "user $(id -u)"
