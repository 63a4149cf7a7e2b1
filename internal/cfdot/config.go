package cfdot

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"

	"github.com/spf13/cobra"
)

// Environment variables read when the matching flag is not given.
const (
	envBBSURL         = "BBS_URL"
	envLocketLocation = "LOCKET_API_LOCATION"
	envCACertFile     = "CA_CERT_FILE"
	envClientCertFile = "CLIENT_CERT_FILE"
	envClientKeyFile  = "CLIENT_KEY_FILE"
	envSkipCertVerify = "SKIP_CERT_VERIFY"
	envTimeout        = "CFDOT_TIMEOUT"
)

// Validation messages of the connection settings (the reference's texts).
const (
	msgMissingBBSURL     = "BBS URL not set. Please specify one with the '--bbsURL' flag or the 'BBS_URL' environment variable."
	msgInvalidBBSURL     = "The value '%s' is not a valid BBS URL. Please specify one with the '--bbsURL' flag or the 'BBS_URL' environment variable."
	msgBBSURLNotHTTPS    = "The URL '%s' does not have an 'https' scheme. Please specify one with the '--bbsURL' flag or the 'BBS_URL' environment variable."
	msgMissingLocket     = "Locket API Location not set. Please specify one with the '--locketAPILocation' flag or the 'LOCKET_API_LOCATION' environment variable."
	msgInvalidSkipVerify = "The value '%s' is not a valid value for SKIP_CERT_VERIFY. Please specify one of the following valid boolean values: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False"
	msgMissingCACert     = "--caCertFile must be specified if using HTTPS and --skipCertVerify is not set"
	msgMissingClientPair = "--clientCertFile and --clientKeyFile must both be specified for TLS connections."
	msgUnreadableFile    = "%s file '%s' doesn't exist or is not readable: %s"
)

// conn holds the connection settings of one command: its flags, completed
// from the environment by the command's PreRunE.
type conn struct {
	env *Env

	bbsURL        string
	locketAddress string
	caFile        string
	certFile      string
	keyFile       string
	skipVerify    bool
	timeout       int // seconds per BBS request; 0: no limit
}

// addTLSFlags adds the flags BBS and locket commands share.
func (c *conn) addTLSFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&c.skipVerify, "skipCertVerify", false, "do not verify the server's certificate ["+envSkipCertVerify+"]")
	f.StringVar(&c.caFile, "caCertFile", "", "PEM file of the CA that signed the server's certificate ["+envCACertFile+"]")
	f.StringVar(&c.certFile, "clientCertFile", "", "PEM file of the certificate cfdot presents to the server ["+envClientCertFile+"]")
	f.StringVar(&c.keyFile, "clientKeyFile", "", "PEM file of the private key of that certificate ["+envClientKeyFile+"]")
}

// bbsFlags adds the flags of a command that calls the BBS and validates
// them, before anything else the command checks, as PreRunE.
func bbsFlags(env *Env, cmd *cobra.Command) *conn {
	c := &conn{env: env}
	c.addTLSFlags(cmd)
	cmd.Flags().StringVar(&c.bbsURL, "bbsURL", "", "https URL of the BBS ["+envBBSURL+"]")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := c.resolveBBS(); err != nil {
			return err
		}
		return c.resolveTLS(cmd)
	}
	return c
}

// bbsTimeoutFlags is bbsFlags plus --timeout, for the commands that make
// plain BBS requests (event streams are not bounded).
func bbsTimeoutFlags(env *Env, cmd *cobra.Command) *conn {
	c := bbsFlags(env, cmd)
	cmd.Flags().IntVar(&c.timeout, "timeout", 0, "seconds to wait for each BBS request, 0 for no limit ["+envTimeout+"]")
	validate := cmd.PreRunE
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		if err := validate(cmd, args); err != nil {
			return err
		}
		return c.resolveTimeout()
	}
	return c
}

// locketFlags adds the flags of a command that calls locket.
func locketFlags(env *Env, cmd *cobra.Command) *conn {
	c := &conn{env: env}
	c.addTLSFlags(cmd)
	cmd.Flags().StringVar(&c.locketAddress, "locketAPILocation", "", "host:port of the locket server ["+envLocketLocation+"]")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if c.locketAddress == "" {
			c.locketAddress = env.getenv(envLocketLocation)
		}
		if c.locketAddress == "" {
			return validationErr(errors.New(msgMissingLocket))
		}
		return c.resolveTLS(cmd)
	}
	return c
}

func (c *conn) resolveBBS() error {
	if c.bbsURL == "" {
		c.bbsURL = c.env.getenv(envBBSURL)
	}
	if c.bbsURL == "" {
		return validationErr(errors.New(msgMissingBBSURL))
	}
	u, err := url.Parse(c.bbsURL)
	if err != nil {
		return validationf(msgInvalidBBSURL, c.bbsURL)
	}
	if u.Scheme != "https" {
		return validationf(msgBBSURLNotHTTPS, c.bbsURL)
	}
	return nil
}

// resolveTLS completes the TLS settings from the environment and checks
// them: the client certificate and key are always required, the CA unless
// the server is not verified.
func (c *conn) resolveTLS(cmd *cobra.Command) error {
	if v := c.env.getenv(envSkipCertVerify); v != "" && !cmd.Flags().Changed("skipCertVerify") {
		skip, err := strconv.ParseBool(v)
		if err != nil {
			return validationf(msgInvalidSkipVerify, v)
		}
		c.skipVerify = skip
	}
	if c.caFile == "" {
		c.caFile = c.env.getenv(envCACertFile)
	}
	if c.certFile == "" {
		c.certFile = c.env.getenv(envClientCertFile)
	}
	if c.keyFile == "" {
		c.keyFile = c.env.getenv(envClientKeyFile)
	}
	if !c.skipVerify {
		if c.caFile == "" {
			return validationErr(errors.New(msgMissingCACert))
		}
		if err := readable(c.caFile, "CA cert"); err != nil {
			return err
		}
	}
	if c.certFile == "" || c.keyFile == "" {
		return validationErr(errors.New(msgMissingClientPair))
	}
	if err := readable(c.keyFile, "key"); err != nil {
		return err
	}
	return readable(c.certFile, "cert")
}

// resolveTimeout reads CFDOT_TIMEOUT when --timeout is 0. A value that is
// not a 16-bit integer is not classified as bad input, as with the
// reference: it ends cfdot with ExitUnexpected.
func (c *conn) resolveTimeout() error {
	v := c.env.getenv(envTimeout)
	if c.timeout != 0 || v == "" {
		return nil
	}
	t, err := strconv.ParseInt(v, 10, 16)
	if err != nil {
		return err
	}
	c.timeout = int(t)
	return nil
}

func readable(path, what string) error {
	f, err := os.Open(path)
	if err != nil {
		return validationErr(fmt.Errorf(msgUnreadableFile, what, path, err))
	}
	return f.Close()
}
