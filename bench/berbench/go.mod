module github.com/pkid/pkid/bench/berbench

go 1.26.8

require github.com/pkid/pkid v0.0.0

require github.com/go-asn1-ber/asn1-ber v1.5.8

replace github.com/pkid/pkid => ../..
