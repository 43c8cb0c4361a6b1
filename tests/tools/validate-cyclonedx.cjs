// Validates CycloneDX 1.6 JSON documents against the official schema, with the CycloneDX project's
// own validator (@cyclonedx/cyclonedx-library, strict: no additional properties).
//   node validate-cyclonedx.cjs FILE...   (NODE_PATH names the node_modules it is installed in)
// Exit status 0 when every document is valid; otherwise the schema's complaints and status 1.
'use strict'
const fs = require('fs')
const CDX = require('@cyclonedx/cyclonedx-library')

async function main (files) {
  const validator = new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6)
  let failed = 0
  for (const file of files) {
    const errors = await validator.validate(fs.readFileSync(file, 'utf8'))
    if (errors === null) {
      console.log(`valid CycloneDX 1.6: ${file}`)
    } else {
      failed++
      console.log(`INVALID: ${file}\n${JSON.stringify(errors, null, 2)}`)
    }
  }
  return failed === 0 ? 0 : 1
}

main(process.argv.slice(2)).then(code => process.exit(code), error => {
  console.error(error)
  process.exit(2)
})
