package lint

import (
	"github.com/zmap/zcrypto/encoding/asn1"
	"github.com/zmap/zlint/v3/util"
)

// zlintGates are the zlint lints whose CheckApplies is
// `util.IsExtInCert(c, OID)`, alone or as the first operand of &&: they
// cannot apply to a certificate without that extension. pkid answers NA for
// them with one map lookup on a key made once, where zlint's IsExtInCert
// formats the OID as a string on every call (an allocation per dot; the
// lints below cost about 10 µs per certificate that way).
// TestZlintGatesMatchSource checks every entry against zlint's source.
var zlintGates = map[string]asn1.ObjectIdentifier{
	"e_basic_constr_invalid_der":                util.BasicConstOID,
	"e_distribution_point_incomplete":           util.CrlDistOID,
	"e_ext_aia_marked_critical":                 util.AiaOID,
	"e_ext_authority_key_identifier_critical":   util.AuthkeyOID,
	"e_ext_cert_policy_duplicate":               util.CertPolicyOID,
	"e_ext_freshest_crl_marked_critical":        util.FreshCRLOID,
	"e_ext_ian_dns_not_ia5_string":              util.IssuerAlternateNameOID,
	"e_ext_ian_empty_name":                      util.IssuerAlternateNameOID,
	"e_ext_ian_no_entries":                      util.IssuerAlternateNameOID,
	"e_ext_ian_rfc822_format_invalid":           util.IssuerAlternateNameOID,
	"e_ext_ian_space_dns_name":                  util.IssuerAlternateNameOID,
	"e_ext_ian_uri_format_invalid":              util.IssuerAlternateNameOID,
	"e_ext_ian_uri_host_not_fqdn_or_ip":         util.IssuerAlternateNameOID,
	"e_ext_ian_uri_not_ia5":                     util.IssuerAlternateNameOID,
	"e_ext_ian_uri_relative":                    util.IssuerAlternateNameOID,
	"e_ext_key_usage_cert_sign_without_ca":      util.KeyUsageOID,
	"e_ext_key_usage_without_bits":              util.KeyUsageOID,
	"e_ext_name_constraints_not_critical":       util.NameConstOID,
	"e_ext_name_constraints_not_in_ca":          util.NameConstOID,
	"e_ext_policy_constraints_not_critical":     util.PolicyConstOID,
	"e_ext_policy_map_any_policy":               util.PolicyMapOID,
	"e_ext_san_dns_name_too_long":               util.SubjectAlternateNameOID,
	"e_ext_san_dns_not_ia5_string":              util.SubjectAlternateNameOID,
	"e_ext_san_empty_name":                      util.SubjectAlternateNameOID,
	"e_ext_san_no_entries":                      util.SubjectAlternateNameOID,
	"e_ext_san_not_critical_without_subject":    util.SubjectAlternateNameOID,
	"e_ext_san_rfc822_format_invalid":           util.SubjectAlternateNameOID,
	"e_ext_san_space_dns_name":                  util.SubjectAlternateNameOID,
	"e_ext_san_uri_format_invalid":              util.SubjectAlternateNameOID,
	"e_ext_san_uri_host_not_fqdn_or_ip":         util.SubjectAlternateNameOID,
	"e_ext_san_uri_not_ia5":                     util.SubjectAlternateNameOID,
	"e_ext_san_uri_relative":                    util.SubjectAlternateNameOID,
	"e_ext_subject_directory_attr_critical":     util.SubjectDirAttrOID,
	"e_ext_subject_key_identifier_critical":     util.SubjectKeyIdentityOID,
	"e_ian_bare_wildcard":                       util.IssuerAlternateNameOID,
	"e_ian_dns_name_includes_null_char":         util.IssuerAlternateNameOID,
	"e_ian_dns_name_starts_with_period":         util.IssuerAlternateNameOID,
	"e_ian_wildcard_not_first":                  util.IssuerAlternateNameOID,
	"e_inhibit_any_policy_not_critical":         util.InhibitAnyPolicyOID,
	"e_international_dns_name_not_nfc":          util.SubjectAlternateNameOID,
	"e_international_dns_name_not_unicode":      util.SubjectAlternateNameOID,
	"e_key_usage_incorrect_length":              util.KeyUsageOID,
	"e_name_constraint_maximum_not_absent":      util.NameConstOID,
	"e_name_constraint_minimum_non_zero":        util.NameConstOID,
	"e_name_constraint_not_fqdn":                util.NameConstOID,
	"e_path_len_constraint_improperly_included": util.BasicConstOID,
	"e_san_bare_wildcard":                       util.SubjectAlternateNameOID,
	"e_san_dns_name_includes_null_char":         util.SubjectAlternateNameOID,
	"e_san_dns_name_starts_with_period":         util.SubjectAlternateNameOID,
	"e_san_wildcard_not_first":                  util.SubjectAlternateNameOID,
	"e_subject_info_access_marked_critical":     util.SubjectInfoAccessOID,
	"n_san_dns_name_duplicate":                  util.SubjectAlternateNameOID,
	"n_san_iana_pub_suffix_empty":               util.SubjectAlternateNameOID,
	"w_distribution_point_missing_ldap_or_uri":  util.CrlDistOID,
	"w_eku_critical_improperly":                 util.EkuSynOid,
	"w_ext_aia_access_location_missing":         util.AiaOID,
	"w_ext_cert_policy_contains_noticeref":      util.CertPolicyOID,
	"w_ext_crl_distribution_marked_critical":    util.CrlDistOID,
	"w_ext_ian_critical":                        util.IssuerAlternateNameOID,
	"w_ext_key_usage_not_critical":              util.KeyUsageOID,
	"w_ext_policy_map_not_critical":             util.PolicyMapOID,
	"w_ext_policy_map_not_in_cert_policy":       util.PolicyMapOID,
	"w_ian_iana_pub_suffix_empty":               util.IssuerAlternateNameOID,
	"w_name_constraint_on_edi_party_name":       util.NameConstOID,
	"w_name_constraint_on_registered_id":        util.NameConstOID,
	"w_name_constraint_on_x400":                 util.NameConstOID,
}
