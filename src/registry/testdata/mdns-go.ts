// What a Go go-micro v2 node puts in its mDNS TXT record, made by Go 1.x's
// encoding/json + compress/zlib + encoding/hex on upstream's mdnsTxt shape
// (untagged field names; map keys sorted, <>& escaped).
export const GO_TXT_JSON =
  '{"Service":"go.micro.srv.gogreeter","Version":"latest","Endpoints":[{"name":"Say.Hello","request":{"name":"Request","type":"Request","values":[{"name":"name","type":"string","values":null}]},"response":{"name":"Response","type":"Response","values":[{"name":"msg","type":"string","values":null}]},"metadata":{}}],"Metadata":{"broker":"http","note":"\\u003ca\\u0026b\\u003e","protocol":"mucp","registry":"mdns","server":"mucp","transport":"http"}}';

export const GO_TXT_HEX =
  "789c8c90414b03311085ffcb3b87a52878c85df0e2c58217ed21dd0e3198cdc499d98552f2df254bad2d5e3c0df3e5f1be30276c499634123c220f531a85079565881c85c848e0f04aa2890b3c72305283c36339544ec514feed8412a65eb00dc7e189726638087dcd3dea2faf2f67e260c77a0b969067baa95ac725a926a9c4ab6099736ebbd6355ab928dd78cee84a74217f4d93c6ff8826b2700816e04faded1c9e7f77ec853f49e0f16156e150d87ad9fbbcd9dc8fa18fbb87fdbaf52f5461e3917377cf635d6f15939a1c3b39148583922c6be33961128a5616fb91b4f61d0000ffff818494d2";
