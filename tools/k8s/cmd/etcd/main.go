// Command etcd is the real etcd server (go.etcd.io/etcd/server/v3/etcdmain),
// built in the same module as Kubernetes so both use the paired version.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
