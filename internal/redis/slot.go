package redis

import (
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// A Redis Cluster splits keys into 16384 hash slots spread over its
// masters. A script or a multi-key command may only touch keys of one slot,
// so keys that travel together carry the same hash tag: Redis hashes only
// the part of a key between the first '{' and the next '}'.
const numSlots = 16384

// isCluster reports whether client talks to a Redis Cluster.
func isCluster(client goredis.UniversalClient) bool {
	_, ok := client.(*goredis.ClusterClient)
	return ok
}

// slot returns the hash slot of key as Redis Cluster computes it.
func slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key) % numSlots)
}

// crc16 is CRC-16/XMODEM (polynomial 0x1021, initial value 0), the
// checksum Redis Cluster hashes keys with.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// spreadTags returns n hash tags for keys that start with
// keyBase+"{"+tag+"}", one per n-th of the slot range in order: tag i puts
// those keys in a slot of [i*16384/n, (i+1)*16384/n). A cluster created
// with redis-cli gives each master a contiguous range of slots, so keys
// spread over n tags spread evenly over the masters. Each tag is tagBase
// and a number; the tags depend only on the arguments, so every node
// computes the same ones. If keyBase itself holds a hash tag (every key
// then shares one slot anyway) the search gives up and takes plain numbers.
func spreadTags(keyBase, tagBase string, n int) []string {
	tags := make([]string, n)
	for i := range tags {
		tags[i] = tagBase + strconv.Itoa(i)
		for j := 0; j < 64*n; j++ {
			t := tagBase + strconv.Itoa(j)
			if slot(keyBase+"{"+t+"}")*n/numSlots == i {
				tags[i] = t
				break
			}
		}
	}
	return tags
}
