// Merges a delta VHD into its base with Xen Orchestra's vhd-lib (mergeVhd, as XO's delta
// backups age), then writes the merged disk's raw contents (createContentStream).
// Usage: node merge.js BASE.vhd DELTA.vhd OUT.raw   (BASE is changed in place)
'use strict'
const fs = require('fs')
const { mergeVhd, createContentStream } = require('vhd-lib')

const handler = {
  openFile: (path, flags) => fs.promises.open(path, flags),
  closeFile: fd => fd.close(),
  read: (fd, buffer, position) => fd.read(buffer, 0, buffer.length, position),
  write: (fd, buffer, position) => fd.write(buffer, 0, buffer.length, position),
  getSize: async fd => (await fd.stat()).size,
}

async function main ([base, delta, out]) {
  await mergeVhd(handler, base, handler, delta)
  await new Promise((resolve, reject) => {
    const s = createContentStream(handler, base)
    s.on('error', reject)
    s.pipe(fs.createWriteStream(out)).on('finish', resolve).on('error', reject)
  })
}

main(process.argv.slice(2)).catch(e => {
  console.error('merge.js: ' + (e && e.stack ? e.stack : e))
  process.exit(1)
})
